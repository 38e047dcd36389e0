// Allocations from named Rust functions, for the demangler test.
use std::hint::black_box;

#[inline(never)]
fn make_table(n: usize) -> Vec<u64> {
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        v.push(i as u64);
    }
    v
}

mod shapes {
    #[inline(never)]
    pub fn boxed_square(side: u32) -> Box<[u8; 4096]> {
        Box::new([side as u8; 4096])
    }
}

fn main() {
    let t = black_box(make_table(1000));
    let b = black_box(shapes::boxed_square(3));
    println!("{} {}", t.len(), b[0]);
}
