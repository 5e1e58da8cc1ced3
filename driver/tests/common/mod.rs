//! Helpers shared by the end-to-end tests (`mod common;` in each file
//! that uses them).

use strata_driver::jit::Buffer;

/// A buffer of element type `t` (`f32`, `f64`, `i32`, `i64`) holding `v`,
/// converted (integers truncate).
pub fn buffer(t: &str, shape: &[usize], v: &[f64]) -> Buffer {
    match t {
        "f32" => Buffer::from_f32(shape, &v.iter().map(|x| *x as f32).collect::<Vec<_>>()),
        "f64" => Buffer::from_f64(shape, v),
        "i32" => Buffer::from_i32(shape, &v.iter().map(|x| *x as i32).collect::<Vec<_>>()),
        _ => Buffer::from_i64(shape, &v.iter().map(|x| *x as i64).collect::<Vec<_>>()),
    }
    .unwrap()
}
