fn main() {
    std::process::exit(careplan::cli::main());
}
