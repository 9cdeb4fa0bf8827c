//! Make (or find) a generated benchmark input and print its path.
//!
//! Usage: bench_input SAMPLE WIDTH HEIGHT [grain]   e.g. `bench_input retina.jpg 5120 2880 grain`

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (name, w, h, grain) = match args.as_slice() {
        [name, w, h] => (name, w, h, false),
        [name, w, h, g] if g == "grain" => (name, w, h, true),
        _ => {
            eprintln!("usage: bench_input SAMPLE WIDTH HEIGHT [grain]");
            std::process::exit(2);
        }
    };
    let (Ok(w), Ok(h)) = (w.parse(), h.parse()) else {
        eprintln!("WIDTH and HEIGHT are numbers");
        std::process::exit(2);
    };
    println!("{}", pixgate_benches::photo_jpeg(name, w, h, grain).display());
}
