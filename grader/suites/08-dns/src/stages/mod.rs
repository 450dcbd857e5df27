pub mod answers;
pub mod dig;
pub mod robust;
pub mod start;
pub mod transport;
