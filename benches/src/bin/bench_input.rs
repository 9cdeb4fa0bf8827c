//! Make (or find) a generated benchmark input and print its path.
//!
//! Usage: bench_input SAMPLE WIDTH HEIGHT   e.g. `bench_input retina.jpg 5120 2880`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, w, h] = args.as_slice() else {
        eprintln!("usage: bench_input SAMPLE WIDTH HEIGHT");
        std::process::exit(2);
    };
    let (Ok(w), Ok(h)) = (w.parse(), h.parse()) else {
        eprintln!("WIDTH and HEIGHT are numbers");
        std::process::exit(2);
    };
    println!("{}", pixgate_benches::photo_jpeg(name, w, h).display());
}
