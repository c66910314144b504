//! The allocator benchmark's workload with the system allocator: the reference for
//! `allocator_zeroing.rs`. Run through `bench/allocator.sh`.

include!("allocator_workload.rs");
