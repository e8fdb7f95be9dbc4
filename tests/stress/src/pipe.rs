//! `eventfs-stress pipe DIR`: the checks of `trace_pipe` that a shell cannot make, on the
//! tracing directory `DIR` (the mount, or an instance of it): `O_NONBLOCK`, `poll(2)`, a
//! reader that sleeps until a record comes, reads smaller than a line, and several
//! readers at once (each sleeping in `poll(2)` between records), none of which may get a
//! record another one got.
//!
//! Prints one line per check and `pipe: N checks, N failed`; exits 0 if none failed.

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Writers and markers each in the concurrent-readers check.
const WRITERS: usize = 3;
const MARKERS: usize = 1000;
const READERS: usize = 4;

struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: Our own descriptor, closed once.
        unsafe { libc::close(self.0) };
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn open(path: &str, flags: i32) -> Result<Fd, String> {
    let c = CString::new(path).map_err(|_| format!("{path}: NUL in path"))?;
    // SAFETY: A valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!("open {path}: errno {}", errno()));
    }
    Ok(Fd(fd))
}

fn read(fd: &Fd, buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: `buf` is valid for writes of its length.
    let n = unsafe { libc::read(fd.0, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(errno());
    }
    Ok(n as usize)
}

fn write_marker(dir: &str, text: &str) -> Result<(), String> {
    let fd = open(&format!("{dir}/trace_marker"), libc::O_WRONLY)?;
    // SAFETY: `text` is valid for reads of its length.
    let n = unsafe { libc::write(fd.0, text.as_ptr().cast(), text.len()) };
    if n != text.len() as isize {
        return Err(format!("write trace_marker: {n}, errno {}", errno()));
    }
    Ok(())
}

fn clear(dir: &str) -> Result<(), String> {
    open(&format!("{dir}/trace"), libc::O_WRONLY | libc::O_TRUNC).map(drop)
}

fn poll(fd: &Fd, timeout_ms: i32) -> Result<i16, String> {
    let mut p = libc::pollfd {
        fd: fd.0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: One valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    if r < 0 {
        return Err(format!("poll: errno {}", errno()));
    }
    Ok(if r == 0 { 0 } else { p.revents })
}

/// The marker text of a `trace_pipe` line, if it is one.
fn marker_of(line: &str) -> Option<&str> {
    line.split_once("tracing_mark_write: ").map(|(_, t)| t)
}

/// Reads whole lines until one holds `want` or `deadline` passes; returns the lines.
fn read_until(fd: &Fd, want: &str, deadline: Duration) -> Result<Vec<String>, String> {
    let start = Instant::now();
    let mut text = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = read(fd, &mut buf).map_err(|e| format!("read: errno {e}"))?;
        text.extend_from_slice(&buf[..n]);
        let s = String::from_utf8_lossy(&text).into_owned();
        if s.lines().any(|l| marker_of(l) == Some(want)) {
            return Ok(s.lines().map(str::to_string).collect());
        }
        if start.elapsed() > deadline {
            return Err(format!("no '{want}' after {deadline:?}: {s:?}"));
        }
    }
}

fn check_nonblock(dir: &str) -> Result<(), String> {
    clear(dir)?;
    let fd = open(
        &format!("{dir}/trace_pipe"),
        libc::O_RDONLY | libc::O_NONBLOCK,
    )?;
    let mut buf = [0u8; 256];
    match read(&fd, &mut buf) {
        Err(libc::EAGAIN) => {}
        r => {
            return Err(format!(
                "read of an empty trace_pipe with O_NONBLOCK: {r:?}"
            ))
        }
    }
    write_marker(dir, "nb-1\n")?;
    let n = read(&fd, &mut buf).map_err(|e| format!("read after a write: errno {e}"))?;
    let s = String::from_utf8_lossy(&buf[..n]);
    if marker_of(s.trim_end()) != Some("nb-1") || !s.ends_with('\n') {
        return Err(format!("read {s:?}"));
    }
    match read(&fd, &mut buf) {
        Err(libc::EAGAIN) => Ok(()),
        r => Err(format!("second read: {r:?}, the record was not consumed")),
    }
}

fn check_poll(dir: &str) -> Result<(), String> {
    clear(dir)?;
    let fd = open(
        &format!("{dir}/trace_pipe"),
        libc::O_RDONLY | libc::O_NONBLOCK,
    )?;
    let r = poll(&fd, 0)?;
    if r != 0 {
        return Err(format!("poll of an empty trace_pipe: revents {r:#x}"));
    }
    let d = dir.to_string();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        write_marker(&d, "poll-wake\n")
    });
    let start = Instant::now();
    let r = poll(&fd, 10_000)?;
    let waited = start.elapsed();
    writer.join().map_err(|_| "writer panicked".to_string())??;
    if r & libc::POLLIN == 0 {
        return Err(format!("poll woke with revents {r:#x} after {waited:?}"));
    }
    if waited < Duration::from_millis(200) {
        return Err(format!("poll returned after {waited:?}, before the write"));
    }
    read_until(&fd, "poll-wake", Duration::from_secs(5))?;
    let r = poll(&fd, 0)?;
    if r != 0 {
        return Err(format!("poll after reading everything: revents {r:#x}"));
    }
    println!("pipe: poll woke {waited:?} after it started (the write came at 300 ms)");
    Ok(())
}

fn check_blocking(dir: &str) -> Result<(), String> {
    clear(dir)?;
    let fd = open(&format!("{dir}/trace_pipe"), libc::O_RDONLY)?;
    let d = dir.to_string();
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        write_marker(&d, "wake-up\n")
    });
    let start = Instant::now();
    let lines = read_until(&fd, "wake-up", Duration::from_secs(10))?;
    let waited = start.elapsed();
    writer.join().map_err(|_| "writer panicked".to_string())??;
    if waited < Duration::from_millis(200) {
        return Err(format!(
            "read returned after {waited:?}, before the write: {lines:?}"
        ));
    }
    println!(
        "pipe: a blocked read returned {waited:?} after it started (the write came at 300 ms)"
    );
    Ok(())
}

fn check_small_reads(dir: &str) -> Result<(), String> {
    clear(dir)?;
    let text = "small-reads-0123456789abcdefghijklmnopqrstuvwxyz";
    write_marker(dir, &format!("{text}\n"))?;
    write_marker(dir, "second\n")?;
    let fd = open(
        &format!("{dir}/trace_pipe"),
        libc::O_RDONLY | libc::O_NONBLOCK,
    )?;
    let mut got = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        match read(&fd, &mut buf) {
            Ok(0) => return Err("read returned 0".to_string()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(libc::EAGAIN) => break,
            Err(e) => return Err(format!("read: errno {e}")),
        }
    }
    let s = String::from_utf8_lossy(&got);
    let markers: Vec<&str> = s.lines().filter_map(marker_of).collect();
    if markers != [text, "second"] || !s.ends_with('\n') {
        return Err(format!("7-byte reads gave {s:?}"));
    }
    Ok(())
}

fn check_readers(dir: &str) -> Result<(), String> {
    clear(dir)?;
    let start = Arc::new(Barrier::new(READERS + 1));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let path = format!("{dir}/trace_pipe");
            let start = start.clone();
            let done = done.clone();
            thread::spawn(move || -> Result<Vec<String>, String> {
                let fd = open(&path, libc::O_RDONLY | libc::O_NONBLOCK)?;
                start.wait();
                let mut got = Vec::new();
                let mut text = Vec::new();
                let mut buf = vec![0u8; 4096];
                loop {
                    // Read `done` before the read: an empty buffer after every write has
                    // finished means every record has gone to some reader.
                    let finished = done.load(Ordering::Acquire);
                    match read(&fd, &mut buf) {
                        Ok(0) => return Err("read returned 0".to_string()),
                        Ok(n) => text.extend_from_slice(&buf[..n]),
                        Err(libc::EAGAIN) if finished => {
                            if !text.is_empty() {
                                let rest = String::from_utf8_lossy(&text).into_owned();
                                return Err(format!("a line was cut short: {rest:?}"));
                            }
                            return Ok(got);
                        }
                        Err(libc::EAGAIN) => {
                            poll(&fd, 100)?;
                            continue;
                        }
                        Err(e) => return Err(format!("read: errno {e}")),
                    }
                    // Whole lines only; a partial one waits for the next read.
                    while let Some(i) = text.iter().position(|&c| c == b'\n') {
                        let line: Vec<u8> = text.drain(..=i).collect();
                        let line = String::from_utf8_lossy(&line).into_owned();
                        let Some(m) = marker_of(line.trim_end()) else {
                            return Err(format!("not a marker line: {line:?}"));
                        };
                        got.push(m.to_string());
                    }
                }
            })
        })
        .collect();
    start.wait();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let d = dir.to_string();
            thread::spawn(move || -> Result<(), String> {
                for i in 0..MARKERS {
                    write_marker(&d, &format!("m{w}-{i}\n"))?;
                }
                Ok(())
            })
        })
        .collect();
    for w in writers {
        w.join().map_err(|_| "writer panicked".to_string())??;
    }
    // Readers stop at the first empty read after this: each poll-sleeps until then.
    done.store(true, Ordering::Release);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut per_reader = Vec::new();
    for r in readers {
        let got = r.join().map_err(|_| "reader panicked".to_string())??;
        per_reader.push(got.len());
        for m in got {
            *seen.entry(m).or_default() += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).take(5).collect();
    if !twice.is_empty() {
        return Err(format!("records read more than once: {twice:?}"));
    }
    let missing: Vec<String> = (0..WRITERS)
        .flat_map(|w| (0..MARKERS).map(move |i| format!("m{w}-{i}")))
        .filter(|m| !seen.contains_key(m))
        .take(5)
        .collect();
    if !missing.is_empty() || seen.len() != WRITERS * MARKERS {
        return Err(format!(
            "{} of {} records read; missing e.g. {missing:?}",
            seen.len(),
            WRITERS * MARKERS
        ));
    }
    println!(
        "pipe: {READERS} readers got {per_reader:?} of {} records, each once",
        WRITERS * MARKERS
    );
    Ok(())
}

/// One check on a tracing directory.
type Check = fn(&str) -> Result<(), String>;

/// Runs every check on `dir`; the exit code.
pub fn run(dir: &str) -> i32 {
    let checks: [(&str, Check); 5] = [
        (
            "O_NONBLOCK: EAGAIN while empty, a record after a write",
            check_nonblock,
        ),
        (
            "poll: not readable while empty, woken by a write",
            check_poll,
        ),
        ("a blocking read sleeps until a write", check_blocking),
        ("reads smaller than a line lose nothing", check_small_reads),
        (
            "concurrent readers get every record exactly once",
            check_readers,
        ),
    ];
    let mut failed = 0;
    for (what, f) in checks {
        match f(dir) {
            Ok(()) => println!("pipe: ok: {what}"),
            Err(e) => {
                failed += 1;
                println!("pipe: FAILED: {what}: {e}");
            }
        }
    }
    println!("pipe: {} checks, {failed} failed", checks.len());
    i32::from(failed > 0)
}
