//! Where the buffers of a batch of episodes live: device memory, with calls launched on the
//! device's stream, or host memory, with the same calls run by the kernels' own code on the
//! host (the C functions take a null context for that; hip/snnk.h). The environment batches
//! ([`crate::envs::Envs`]) and the agents' rounds ([`crate::round::Round`]) are written once
//! over [`Memory`], so the host twin that the tests check is the device's code and layout.

use crate::ffi::SnnkCtx;
use crate::{Context, DeviceBuffer, DeviceCopy, Result};
use std::sync::Arc;

/// Where buffers live and which context their calls get.
pub trait Memory {
    /// A buffer of `T`.
    type Buf<T: DeviceCopy>;
    /// A zeroed buffer of `len` elements (at least one).
    fn alloc<T: DeviceCopy>(&self, len: usize) -> Result<Self::Buf<T>>;
    /// The buffer's address for a call (the buffer is borrowed mutably for it).
    fn ptr<T: DeviceCopy>(buf: &mut Self::Buf<T>) -> *mut T;
    /// Copies `data` to the start of the buffer.
    fn write<T: DeviceCopy>(buf: &mut Self::Buf<T>, data: &[T]) -> Result<()>;
    /// Copies the first `out.len()` elements into `out`, after every call so far.
    fn read<T: DeviceCopy>(buf: &Self::Buf<T>, out: &mut [T]) -> Result<()>;
    /// Zero-fills the buffer.
    fn zero<T: DeviceCopy>(buf: &mut Self::Buf<T>) -> Result<()>;
    /// The context the calls take: a device's, or null for the host.
    fn ctx(&self) -> *mut SnnkCtx;
}

/// Host memory; calls run the kernels' code on the host.
#[derive(Debug, Clone, Copy, Default)]
pub struct Host;

impl Memory for Host {
    type Buf<T: DeviceCopy> = Vec<T>;

    fn alloc<T: DeviceCopy>(&self, len: usize) -> Result<Vec<T>> {
        Ok(vec![T::default(); len.max(1)])
    }

    fn ptr<T: DeviceCopy>(buf: &mut Vec<T>) -> *mut T {
        buf.as_mut_ptr()
    }

    fn write<T: DeviceCopy>(buf: &mut Vec<T>, data: &[T]) -> Result<()> {
        buf[..data.len()].copy_from_slice(data);
        Ok(())
    }

    fn read<T: DeviceCopy>(buf: &Vec<T>, out: &mut [T]) -> Result<()> {
        out.copy_from_slice(&buf[..out.len()]);
        Ok(())
    }

    fn zero<T: DeviceCopy>(buf: &mut Vec<T>) -> Result<()> {
        buf.fill(T::default());
        Ok(())
    }

    fn ctx(&self) -> *mut SnnkCtx {
        std::ptr::null_mut()
    }
}

/// A device's memory; calls are launches on its stream.
#[derive(Debug, Clone)]
pub struct Device(pub Arc<Context>);

impl Memory for Device {
    type Buf<T: DeviceCopy> = DeviceBuffer<T>;

    fn alloc<T: DeviceCopy>(&self, len: usize) -> Result<DeviceBuffer<T>> {
        let mut b = self.0.alloc(len.max(1))?;
        let n = b.len();
        b.zero(0, n)?;
        Ok(b)
    }

    fn ptr<T: DeviceCopy>(buf: &mut DeviceBuffer<T>) -> *mut T {
        buf.ptr()
    }

    fn write<T: DeviceCopy>(buf: &mut DeviceBuffer<T>, data: &[T]) -> Result<()> {
        buf.write(0, data)
    }

    fn read<T: DeviceCopy>(buf: &DeviceBuffer<T>, out: &mut [T]) -> Result<()> {
        buf.read(0, out)
    }

    fn zero<T: DeviceCopy>(buf: &mut DeviceBuffer<T>) -> Result<()> {
        let n = buf.len();
        buf.zero(0, n)
    }

    fn ctx(&self) -> *mut SnnkCtx {
        self.0.raw
    }
}
