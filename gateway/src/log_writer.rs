//! Batched log output. Each thread appends its formatted lines to a buffer of its own (an
//! uncontended lock and a copy); a writer thread collects the buffers every 50 ms, or as soon
//! as one holds 32 KiB, and writes them out in large writes. A request never makes a write
//! syscall or wakes another thread for its log line, and lines are never dropped: a thread
//! waits only when 16 MiB of its own lines are still unwritten (the output has stalled).
//!
//! Lines of one thread keep their order; lines of different threads may interleave up to one
//! collection period apart (each line carries its timestamp).

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

const PERIOD: Duration = Duration::from_millis(50);
const WAKE_AT: usize = 32 * 1024;
const WAIT_AT: usize = 16 * 1024 * 1024;

type Buffer = Arc<Mutex<Vec<u8>>>;

struct Shared {
    id: usize,
    /// Every live thread's buffer (and those of exited threads until drained).
    buffers: Mutex<Vec<Buffer>>,
    /// Set when a buffer is full enough to collect now; the writer thread waits on `wake`.
    pending: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn poke(&self) {
        if let Ok(mut p) = self.pending.lock() {
            *p = true;
            self.wake.notify_one();
        }
    }
}

/// The `MakeWriter` handed to `tracing`; clones share one writer thread.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Stops the writer thread after it has written every line (on drop).
pub struct Guard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.poke();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A batch writer to `out`, and the guard that flushes it.
pub fn spawn(out: impl Write + Send + 'static) -> io::Result<(BatchWriter, Guard)> {
    static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
    let shared = Arc::new(Shared {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        buffers: Mutex::new(Vec::new()),
        pending: Mutex::new(false),
        wake: Condvar::new(),
        stop: AtomicBool::new(false),
    });
    let for_thread = shared.clone();
    let thread =
        std::thread::Builder::new().name("pixgate-log".into()).spawn(move || run(&for_thread, out))?;
    Ok((BatchWriter { shared: shared.clone() }, Guard { shared, thread: Some(thread) }))
}

fn run(shared: &Shared, mut out: impl Write) {
    let mut spare = Vec::new();
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        if !stopping && let Ok(p) = shared.pending.lock() {
            let (mut p, _) =
                shared.wake.wait_timeout_while(p, PERIOD, |p| !*p).unwrap_or_else(|e| e.into_inner());
            *p = false;
        }
        let buffers: Vec<Buffer> = shared.buffers.lock().map(|b| b.clone()).unwrap_or_default();
        for b in &buffers {
            if let Ok(mut lines) = b.lock() {
                std::mem::swap(&mut *lines, &mut spare);
            }
            if !spare.is_empty() {
                // A failing output (closed stdout) loses lines, never blocks the writers.
                let _ = out.write_all(&spare);
                spare.clear();
            }
        }
        let _ = out.flush();
        drop(buffers);
        // Forget the buffers of threads that have exited, once drained: a thread may have
        // written its last lines after this round took its buffer, then exited.
        if let Ok(mut all) = shared.buffers.lock() {
            all.retain(|b| Arc::strong_count(b) > 1 || b.lock().map(|l| !l.is_empty()).unwrap_or(false));
        }
        if stopping {
            return;
        }
    }
}

thread_local! {
    /// This thread's buffer, per batch writer.
    static LOCAL: RefCell<Vec<(usize, Buffer)>> = const { RefCell::new(Vec::new()) };
}

impl BatchWriter {
    /// Appends whole lines that `format` writes straight into this thread's buffer.
    pub fn append_with(&self, format: impl FnOnce(&mut Vec<u8>)) {
        self.settle(self.append(format));
    }

    /// After an append that left `len` bytes in this thread's buffer: collect soon when it is
    /// large, and wait while the output has stalled.
    fn settle(&self, len: usize) {
        if len >= WAKE_AT {
            self.shared.poke();
            while self.own_len() >= WAIT_AT && !self.shared.stop.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    fn register(&self) -> Buffer {
        let b: Buffer = Arc::new(Mutex::new(Vec::with_capacity(WAKE_AT)));
        if let Ok(mut all) = self.shared.buffers.lock() {
            all.push(b.clone());
        }
        b
    }

    /// Appends to this thread's buffer; the length of the buffer afterwards.
    fn append(&self, format: impl FnOnce(&mut Vec<u8>)) -> usize {
        let mut format = Some(format);
        let mut push = |b: &Buffer| -> usize {
            match (b.lock(), format.take()) {
                (Ok(mut lines), Some(format)) => {
                    format(&mut lines);
                    lines.len()
                }
                _ => 0,
            }
        };
        let appended = LOCAL.try_with(|local| {
            let mut local = local.borrow_mut();
            let i = match local.iter().position(|(id, _)| *id == self.shared.id) {
                Some(i) => i,
                None => {
                    local.push((self.shared.id, self.register()));
                    local.len() - 1
                }
            };
            push(&local[i].1)
        });
        // During thread teardown: a buffer of its own, drained and forgotten at the next round.
        appended.unwrap_or_else(|_| {
            push(&self.register());
            0
        })
    }

    fn own_len(&self) -> usize {
        LOCAL
            .try_with(|local| {
                let local = local.borrow();
                let b = local.iter().find(|(id, _)| *id == self.shared.id);
                b.and_then(|(_, b)| b.lock().ok().map(|l| l.len())).unwrap_or(0)
            })
            .unwrap_or(0)
    }
}

/// One event's output: `tracing`'s formatter writes each line in one call.
pub struct LineWriter<'a> {
    writer: &'a BatchWriter,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.append_with(|lines| lines.extend_from_slice(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> LineWriter<'a> {
        LineWriter { writer: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn line(w: &BatchWriter, text: &str) {
        let mut l = w.make_writer();
        l.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn every_line_arrives_in_order_per_thread() {
        let sink = Sink::default();
        let (w, guard) = spawn(sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        line(&w, &format!("t{t} {i}\n"));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        for t in 0..4 {
            let seen: Vec<usize> = out
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("t{t} ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(seen, (0..5000).collect::<Vec<_>>(), "thread {t}");
        }
        assert_eq!(out.lines().count(), 20_000);
    }

    #[test]
    fn a_quiet_line_is_written_within_the_period() {
        let sink = Sink::default();
        let (w, _guard) = spawn(sink.clone()).unwrap();
        line(&w, "one\n");
        let start = std::time::Instant::now();
        while sink.0.lock().unwrap().is_empty() {
            assert!(start.elapsed() < Duration::from_secs(5), "the line was never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&*sink.0.lock().unwrap(), b"one\n");
    }

    #[test]
    fn buffers_of_exited_threads_are_drained_then_forgotten() {
        let sink = Sink::default();
        let (w, guard) = spawn(sink.clone()).unwrap();
        let w2 = w.clone();
        std::thread::spawn(move || line(&w2, "from a short-lived thread\n")).join().unwrap();
        let start = std::time::Instant::now();
        while !w.shared.buffers.lock().unwrap().is_empty() {
            assert!(start.elapsed() < Duration::from_secs(5), "the exited thread's buffer is kept");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(guard);
        assert_eq!(&*sink.0.lock().unwrap(), b"from a short-lived thread\n");
    }
}
