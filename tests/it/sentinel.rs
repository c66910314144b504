//! The sentinel harness: random bytes sent through the daemon that must afterwards be found
//! nowhere — not in any file under the test's own scratch directory (which holds the data
//! directory, the only place the daemon's Landlock profile lets it write), and not in the
//! daemon's memory (read through `/proc/PID/mem`, which needs root: the daemon is not
//! dumpable). Secret memory cannot be read that way, so the media the daemon still holds is
//! counted instead: its secret (or locked) media mappings and the media budget's reservations
//! ([`assert_no_media_held`]). Reused by every workflow that receives media.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::harness::Daemon;

/// Random bytes no one else could produce.
pub struct Sentinel(Vec<u8>);

impl Sentinel {
    /// 48 fresh random bytes: long enough never to occur by chance, short enough to fit in any
    /// small leftover buffer a leak would leave.
    pub fn new() -> Self {
        Self(random_bytes(48))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// `len` fresh random bytes (sentinels, and the filler around them).
pub fn random_bytes(len: usize) -> Vec<u8> {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes).unwrap();
    bytes
}

/// Regular files under `roots` (symbolic links not followed) changed since `since` that
/// contain `needle`, each once (roots may nest: the data directory is under `/tmp`).
pub fn files_containing(needle: &[u8], roots: &[&Path], since: SystemTime) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut pending: Vec<PathBuf> = roots.iter().map(|r| r.to_path_buf()).collect();
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else if meta.is_file()
            && meta.modified().is_ok_and(|m| m >= since)
            && std::fs::read(&path).is_ok_and(|contents| memchr::memmem::find(&contents, needle).is_some())
        {
            hits.push(path);
        }
    }
    hits.sort();
    hits.dedup();
    hits
}

/// What a scan of a process's memory found.
#[derive(Debug, Default)]
pub struct MemoryScan {
    /// The mappings (lines of `/proc/PID/maps`) holding the needle.
    pub hits: Vec<String>,
    /// Bytes read.
    pub bytes_read: u64,
    /// Mappings the kernel would not let us read (secret memory, guard pages, `[vvar]`).
    pub unreadable: Vec<String>,
}

/// The readable mappings of process `pid`: each `/proc/PID/maps` line with its start and end.
fn readable_mappings(pid: u32) -> Vec<(String, u64, u64)> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (range, perms) = (fields.next()?, fields.next()?);
            if !perms.starts_with('r') || line.ends_with("[vvar]") || line.ends_with("[vsyscall]") {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some((line.to_owned(), u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(end, 16).ok()?))
        })
        .collect()
}

/// Reads every readable mapping of process `pid` and looks for `needle`.
pub fn memory_containing(pid: u32, needle: &[u8]) -> MemoryScan {
    let mut mem =
        File::open(format!("/proc/{pid}/mem")).expect("reading another process's memory needs root");
    let mut scan = MemoryScan::default();
    for (line, start, end) in readable_mappings(pid) {
        match read_region(&mut mem, start, end, needle) {
            Ok((read, found)) => {
                scan.bytes_read += read;
                if found {
                    scan.hits.push(line);
                }
            }
            Err(_) => scan.unreadable.push(line),
        }
    }
    scan
}

/// Reads `[start, end)` in 1 MiB pieces that overlap by the needle's length, so a needle that
/// straddles two pieces is still found.
fn read_region(mem: &mut File, start: u64, end: u64, needle: &[u8]) -> std::io::Result<(u64, bool)> {
    const PIECE: u64 = 1 << 20;
    let overlap = needle.len() as u64 - 1;
    let mut buffer = vec![0u8; PIECE as usize];
    let mut at = start;
    let mut read_total = 0;
    while at < end {
        let len = (end - at).min(PIECE) as usize;
        mem.seek(SeekFrom::Start(at))?;
        mem.read_exact(&mut buffer[..len])?;
        read_total += len as u64;
        if memchr::memmem::find(&buffer[..len], needle).is_some() {
            return Ok((read_total, true));
        }
        if at + len as u64 >= end {
            break;
        }
        at += len as u64 - overlap;
    }
    Ok((read_total, false))
}

/// Number of sockets process `pid` holds open.
pub fn socket_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// The number of sockets the daemon holds when idle, as the baseline a flow's leftover
/// connections are measured against: taken once the start-up status checks are done (the home
/// page shows every configured service checked, but Lumen, which only a notice checks) and the
/// count has then settled ([`crate::harness::settled_socket_count`]: the checks' own
/// connections and this poll's page loads closed). A baseline taken earlier would count connections about to close,
/// and so hide one a flow leaves open. Fails if the daemon does not settle within 15 s.
pub async fn idle_socket_count(daemon: &Daemon) -> usize {
    let deadline = Instant::now() + Duration::from_secs(15);
    {
        let client = daemon.client("cp-agent");
        loop {
            let home = client.get(daemon.url("/")).send().await.unwrap().text().await.unwrap();
            let unchecked: Vec<&str> = home
                .split("data-service=\"")
                .skip(1)
                .filter(|row| !row.starts_with("lumen\""))
                .filter_map(|row| row.split("</tr>").next())
                .filter(|row| row.contains("not checked yet"))
                .collect();
            if unchecked.is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "the start-up status checks never finished: {unchecked:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    crate::harness::settled_socket_count(daemon.pid()).await
}

/// Waits until process `pid` holds at most `sockets` sockets (its client connections closed).
/// Async, so that the test's own connection tasks can run and close their side.
pub async fn wait_for_sockets(pid: u32, sockets: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while socket_count(pid) > sockets {
        assert!(Instant::now() < deadline, "the daemon kept its connections open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What surrounds each place `needle` is found in process `pid`'s memory, as text: shown when
/// a scan fails, to tell whose buffer kept it.
pub fn contexts(pid: u32, needle: &[u8]) -> Vec<String> {
    let mut mem = File::open(format!("/proc/{pid}/mem")).unwrap();
    let mut found = Vec::new();
    for (_, start, end) in readable_mappings(pid) {
        let mut buffer = vec![0u8; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut buffer).is_err() {
            continue;
        }
        for at in memchr::memmem::find_iter(&buffer, needle) {
            let from = at.saturating_sub(300);
            let to = (at + needle.len() + 300).min(buffer.len());
            found.push(String::from_utf8_lossy(&buffer[from..to]).into_owned());
        }
    }
    found
}

/// Asserts that `sentinel` is in no file under the daemon's scratch directory changed since
/// `since`, nowhere in the daemon's readable memory, and that it holds no media any more
/// ([`assert_no_media_held`]: what hides in secret memory is counted, since it cannot be read).
/// A control (`control`, text the daemon must hold) proves the memory scan reads what it should.
pub async fn assert_nowhere(daemon: &Daemon, sentinel: &Sentinel, since: SystemTime, control: &[u8]) {
    let pid = daemon.pid();
    // The scratch directory is all the daemon may write: its Landlock profile allows only the
    // data directory inside it, and the daemon refuses to start unless that is enforced.
    assert!(
        !daemon.logs().contains("not fully enforced"),
        "the daemon may write elsewhere: {}",
        daemon.logs()
    );
    let on_disk = files_containing(sentinel.bytes(), &[daemon.dir.0.as_path()], since);
    assert!(on_disk.is_empty(), "on disk: {on_disk:?}");
    let scan = memory_containing(pid, sentinel.bytes());
    assert!(scan.hits.is_empty(), "in memory: {:?} {:?}", scan.hits, contexts(pid, sentinel.bytes()));
    assert!(!memory_containing(pid, control).hits.is_empty(), "the memory scan found nothing it should");
    assert_no_media_held(daemon).await;
}

/// The mappings of process `pid` that hold media: secret memory (`memfd_secret`, named
/// `/secretmem` in `/proc/PID/maps`), and the locked fallback used where the kernel has no
/// secret memory (anonymous, locked, and marked don't-dump and don't-fork, as
/// `MediaBuffer::with_capacity` makes it; nothing else in the daemon is marked both).
pub fn media_mappings(pid: u32) -> Vec<String> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut found = Vec::new();
    let mut mapping: Option<&str> = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.contains('-') && !first.ends_with(':') {
            mapping = Some(line);
            if line.contains("secretmem") {
                found.push(line.to_owned());
            }
        } else if let (Some(flags), Some(head)) = (line.strip_prefix("VmFlags:"), mapping) {
            let flags: Vec<&str> = flags.split_whitespace().collect();
            let anonymous = head.split_whitespace().nth(5).is_none();
            if anonymous && ["lo", "dd", "dc"].iter().all(|f| flags.contains(f)) {
                found.push(format!("{head} (locked fallback)"));
            }
        }
    }
    found
}

/// Bytes of the media budget the daemon has reserved now, as its (demo build's) test upload
/// page shows them.
pub async fn media_budget_in_use(daemon: &Daemon) -> usize {
    let client = daemon.client("cp-agent");
    let page = client.get(daemon.url("/test/media")).send().await.unwrap().text().await.unwrap();
    let at = page.find("id=\"media-in-use\">").unwrap_or_else(|| panic!("no amount in use: {page}")) + 18;
    page[at..].split('<').next().unwrap().parse().unwrap()
}

/// What media the daemon holds now: its media mappings and reserved budget.
pub async fn media_held(daemon: &Daemon) -> (Vec<String>, usize) {
    (media_mappings(daemon.pid()), media_budget_in_use(daemon).await)
}

/// Asserts that the daemon holds no media: no secret (or locked) media mapping is left and the
/// media budget has nothing reserved. A buffer kept alive past its request — a document left on
/// the shelf, a leaked locked copy of an image — hides from `/proc/PID/mem` in secret memory,
/// but not from these counts. Polled for a few seconds, since the last reference to a sent
/// body may go just after the response; fails if anything is still held then.
pub async fn assert_no_media_held(daemon: &Daemon) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (mappings, reserved) = media_held(daemon).await;
        if mappings.is_empty() && reserved == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "media outlived its request: {} media mapping(s) {mappings:#?}, {reserved} bytes of the budget reserved",
            mappings.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
