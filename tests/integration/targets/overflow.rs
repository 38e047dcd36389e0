#![allow(unconditional_recursion)]
// Overflows its main thread's stack.  Rust's runtime installs its
// stack-overflow handler only where SIGSEGV/SIGBUS are SIG_DFL: it prints
// "thread 'main' has overflowed its stack" and dies of SIGABRT.  Issue 14,
// defect 2: with the recorder's handler visible it died of SIGSEGV, silent.
use std::hint::black_box;

fn deep(n: u64, v: &mut Vec<Box<[u8; 64]>>) -> u64 {
    let buf = black_box([n as u8; 512]);
    if n % 1000 == 0 {
        v.push(Box::new([0u8; 64]));
    }
    buf[(n % 512) as usize] as u64 + deep(n + 1, v)
}

fn main() {
    let mut v = Vec::new();
    for _ in 0..10 {
        v.push(Box::new([1u8; 64]));
    }
    println!("start");
    let r = deep(0, &mut v);
    println!("{}", r);
}
