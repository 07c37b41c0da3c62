// The validator allocates a node per element and a value per FHIRPath step;
// mimalloc serves those small, short-lived allocations several times faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(careplan::cli::main());
}
