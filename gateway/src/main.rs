fn main() {
    pixgate::main_entry()
}
