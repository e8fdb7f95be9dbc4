// SPDX-License-Identifier: GPL-2.0

//! The few functions of libtraceevent the checker calls, and safe wrappers.
//!
//! Structure members are read through the C shim (`shim.c`), compiled against the
//! installed header: no structure layout is mirrored here, the handles are opaque.

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr};
use std::marker::PhantomData;
use std::ptr::NonNull;

/// `struct tep_handle`, opaque.
#[repr(C)]
struct TepHandle {
    _opaque: [u8; 0],
}

/// `struct tep_event`, opaque.
#[repr(C)]
struct TepEvent {
    _opaque: [u8; 0],
}

/// `struct tep_format_field`, opaque.
#[repr(C)]
struct TepField {
    _opaque: [u8; 0],
}

/// `TEP_LITTLE_ENDIAN` of `enum tep_endian`.
const TEP_LITTLE_ENDIAN: c_int = 0;

extern "C" {
    fn tep_alloc() -> *mut TepHandle;
    fn tep_free(tep: *mut TepHandle);
    fn tep_set_long_size(tep: *mut TepHandle, long_size: c_int);
    fn tep_set_page_size(tep: *mut TepHandle, page_size: c_int);
    fn tep_set_file_bigendian(tep: *mut TepHandle, endian: c_int);
    fn tep_set_local_bigendian(tep: *mut TepHandle, endian: c_int);
    fn tep_parse_format(
        tep: *mut TepHandle,
        eventp: *mut *mut TepEvent,
        buf: *const c_char,
        size: c_ulong,
        sys: *const c_char,
    ) -> c_int;
    fn tep_parse_header_page(
        tep: *mut TepHandle,
        buf: *mut c_char,
        size: c_ulong,
        long_size: c_int,
    ) -> c_int;
    fn tep_get_header_page_size(tep: *mut TepHandle) -> c_int;
    fn tep_get_header_timestamp_size(tep: *mut TepHandle) -> c_int;
    fn tep_get_sub_buffer_size(tep: *mut TepHandle) -> c_int;
    fn tep_is_old_format(tep: *mut TepHandle) -> bool;
    fn tep_strerror(tep: *mut TepHandle, errnum: c_int, buf: *mut c_char, buflen: usize) -> c_int;

    fn efs_event_id(e: *const TepEvent) -> c_int;
    fn efs_event_name(e: *const TepEvent) -> *const c_char;
    fn efs_event_system(e: *const TepEvent) -> *const c_char;
    fn efs_event_failed(e: *const TepEvent) -> c_int;
    fn efs_event_nr_common(e: *const TepEvent) -> c_int;
    fn efs_event_nr_fields(e: *const TepEvent) -> c_int;
    fn efs_event_first_field(e: *const TepEvent, common: c_int) -> *const TepField;
    fn efs_field_next(f: *const TepField) -> *const TepField;
    fn efs_field_name(f: *const TepField) -> *const c_char;
    fn efs_field_type(f: *const TepField) -> *const c_char;
    fn efs_field_offset(f: *const TepField) -> c_int;
    fn efs_field_size(f: *const TepField) -> c_int;
    fn efs_field_arraylen(f: *const TepField) -> c_uint;
    fn efs_field_signed(f: *const TepField) -> c_int;
    fn efs_field_array(f: *const TepField) -> c_int;
    fn efs_render(
        tep: *mut TepHandle,
        data: *mut c_void,
        size: c_int,
        out: *mut c_char,
        outlen: usize,
    ) -> c_int;
}

/// Copies a C string of the library, `"(null)"` for NULL.
///
/// # Safety
///
/// `p` is NULL or a NUL-terminated string that stays valid for the call.
unsafe fn string(p: *const c_char) -> String {
    if p.is_null() {
        return "(null)".to_string();
    }
    // SAFETY: non-NULL, and NUL-terminated and valid by the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// `text` with a NUL appended, for the library's parsers (which take a length, but
/// tokenizers of C libraries are safer with a terminator).
fn nul_terminated(text: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len() + 1);
    v.extend_from_slice(text);
    v.push(0);
    v
}

/// A parser context (`struct tep_handle`), set up for the guest: x86_64, 64-bit
/// `long`, little endian, 4 KiB pages.
pub struct Tep {
    /// The handle, owned: freed on drop.
    ptr: NonNull<TepHandle>,
}

/// What libtraceevent made of a `header_page` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPage {
    /// The return value of `tep_parse_header_page()`.
    pub rc: i32,
    /// `tep_get_header_timestamp_size()`.
    pub timestamp_size: i32,
    /// `tep_get_header_page_size()`: the size of the `commit` field.
    pub commit_size: i32,
    /// `tep_get_sub_buffer_size()`: data offset plus data size.
    pub sub_buffer_size: i32,
    /// `tep_is_old_format()`.
    pub old_format: bool,
}

/// One field as libtraceevent parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedField {
    /// Field name.
    pub name: String,
    /// Type, with `[N]` for arrays (`char[16]`).
    pub ty: String,
    /// Offset in the record.
    pub offset: i32,
    /// Size in the record.
    pub size: i32,
    /// Array length (0 if not an array).
    pub arraylen: u32,
    /// `TEP_FIELD_IS_SIGNED`.
    pub signed: bool,
    /// `TEP_FIELD_IS_ARRAY`.
    pub array: bool,
}

/// An event libtraceevent parsed, owned by (and living as long as) its [`Tep`].
pub struct Event<'t> {
    /// The event, owned by the handle.
    ptr: NonNull<TepEvent>,
    /// The handle the event belongs to.
    _tep: PhantomData<&'t Tep>,
}

impl Tep {
    /// Allocates a handle; `None` if libtraceevent could not.
    pub fn new() -> Option<Tep> {
        // SAFETY: tep_alloc() takes no argument; it returns NULL or a new handle.
        let ptr = NonNull::new(unsafe { tep_alloc() })?;
        let tep = Tep { ptr };
        // SAFETY: the handle is live; these setters only store the values.
        unsafe {
            tep_set_long_size(tep.ptr.as_ptr(), 8);
            tep_set_page_size(tep.ptr.as_ptr(), 4096);
            tep_set_file_bigendian(tep.ptr.as_ptr(), TEP_LITTLE_ENDIAN);
            tep_set_local_bigendian(tep.ptr.as_ptr(), TEP_LITTLE_ENDIAN);
        }
        Some(tep)
    }

    /// libtraceevent's text for an error code.
    fn strerror(&self, rc: c_int) -> String {
        let mut buf = [0 as c_char; 256];
        // SAFETY: the handle is live; buf is writable for its length, and the library
        // writes a NUL-terminated string into it (or fails and leaves it zeroed).
        unsafe {
            tep_strerror(self.ptr.as_ptr(), rc, buf.as_mut_ptr(), buf.len());
            string(buf.as_ptr())
        }
    }

    /// `tep_parse_format()` of `text` for group `sys`: the event, or why there is none.
    /// An event with `TEP_EVENT_FL_FAILED` is returned (see [`Event::failed`]).
    pub fn parse_format(&self, text: &[u8], sys: &str) -> Result<Event<'_>, String> {
        let buf = nul_terminated(text);
        let sys = nul_terminated(sys.as_bytes());
        if sys[..sys.len() - 1].contains(&0) {
            return Err("group name holds a NUL".into());
        }
        let mut ev: *mut TepEvent = std::ptr::null_mut();
        // SAFETY: the handle is live; buf holds text.len() readable bytes (plus a NUL),
        // sys is NUL-terminated, ev is writable. Both buffers outlive the call (the
        // library copies what it keeps).
        let rc = unsafe {
            tep_parse_format(
                self.ptr.as_ptr(),
                &mut ev,
                buf.as_ptr().cast(),
                text.len() as c_ulong,
                sys.as_ptr().cast(),
            )
        };
        if rc != 0 {
            return Err(format!(
                "tep_parse_format() returned {rc} ({})",
                self.strerror(rc)
            ));
        }
        let ptr = NonNull::new(ev).ok_or("tep_parse_format() returned 0 but no event")?;
        Ok(Event {
            ptr,
            _tep: PhantomData,
        })
    }

    /// `tep_parse_header_page()` of `text` with a `long_size` of 8, and what the
    /// handle then says about the page header.
    pub fn parse_header_page(&self, text: &[u8]) -> HeaderPage {
        let mut buf = nul_terminated(text);
        // SAFETY: the handle is live; buf holds text.len() bytes plus a NUL and is
        // writable (the parameter is not const), and outlives the call. The getters
        // only read the handle.
        unsafe {
            let rc = tep_parse_header_page(
                self.ptr.as_ptr(),
                buf.as_mut_ptr().cast(),
                text.len() as c_ulong,
                8,
            );
            HeaderPage {
                rc,
                timestamp_size: tep_get_header_timestamp_size(self.ptr.as_ptr()),
                commit_size: tep_get_header_page_size(self.ptr.as_ptr()),
                sub_buffer_size: tep_get_sub_buffer_size(self.ptr.as_ptr()),
                old_format: tep_is_old_format(self.ptr.as_ptr()),
            }
        }
    }

    /// Prints the record `data` (common fields included) as a trace line's info part:
    /// the event's print fmt applied by libtraceevent. `None` if that failed.
    pub fn render(&self, data: &mut [u8]) -> Option<String> {
        let mut out = vec![0u8; 16384];
        let size = c_int::try_from(data.len()).ok()?;
        // SAFETY: the handle is live; data is readable (and writable: the parameter is
        // not const) for size bytes, out writable for its length; the shim writes a
        // NUL-terminated string of at most out.len() bytes into it.
        let len = unsafe {
            efs_render(
                self.ptr.as_ptr(),
                data.as_mut_ptr().cast(),
                size,
                out.as_mut_ptr().cast(),
                out.len(),
            )
        };
        let len = usize::try_from(len).ok()?;
        out.truncate(len.min(out.len() - 1));
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

impl Drop for Tep {
    fn drop(&mut self) {
        // SAFETY: the handle is live and owned; no Event borrows it any more (they
        // borrow the Tep), so nothing uses it after this.
        unsafe { tep_free(self.ptr.as_ptr()) }
    }
}

impl Event<'_> {
    /// The event as a pointer for the shim.
    fn raw(&self) -> *const TepEvent {
        self.ptr.as_ptr()
    }

    /// The ID libtraceevent read.
    pub fn id(&self) -> i32 {
        // SAFETY: the event is live while its handle is (borrowed by self).
        unsafe { efs_event_id(self.raw()) }
    }

    /// The name libtraceevent read.
    pub fn name(&self) -> String {
        // SAFETY: the event is live; its name is NULL or a string it owns.
        unsafe { string(efs_event_name(self.raw())) }
    }

    /// The system (group) libtraceevent recorded.
    pub fn system(&self) -> String {
        // SAFETY: the event is live; its system is NULL or a string it owns.
        unsafe { string(efs_event_system(self.raw())) }
    }

    /// Whether `TEP_EVENT_FL_FAILED` is set: the parse failed although it returned 0.
    pub fn failed(&self) -> bool {
        // SAFETY: the event is live.
        unsafe { efs_event_failed(self.raw()) != 0 }
    }

    /// `format.nr_common` and `format.nr_fields`.
    pub fn counts(&self) -> (i32, i32) {
        // SAFETY: the event is live.
        unsafe {
            (
                efs_event_nr_common(self.raw()),
                efs_event_nr_fields(self.raw()),
            )
        }
    }

    /// The common fields (`common`) or the declared ones, in the library's order.
    pub fn fields(&self, common: bool) -> Vec<ParsedField> {
        let mut v = Vec::new();
        // SAFETY: the event is live; its field list is NULL-terminated, each field live
        // as long as the event, with NULL or owned strings.
        unsafe {
            let mut f = efs_event_first_field(self.raw(), c_int::from(common));
            while !f.is_null() && v.len() < 4096 {
                v.push(ParsedField {
                    name: string(efs_field_name(f)),
                    ty: string(efs_field_type(f)),
                    offset: efs_field_offset(f),
                    size: efs_field_size(f),
                    arraylen: efs_field_arraylen(f),
                    signed: efs_field_signed(f) != 0,
                    array: efs_field_array(f) != 0,
                });
                f = efs_field_next(f);
            }
        }
        v
    }
}
