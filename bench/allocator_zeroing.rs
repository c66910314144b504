//! The allocator benchmark's workload with the daemon's global allocator (zero on free).
//! Run through `bench/allocator.sh`, which compares it with `allocator_plain.rs`.

#[global_allocator]
static ALLOCATOR: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

include!("allocator_workload.rs");
