//! Submissions written to fool or break the grader. None may pass, each is
//! explained, the run stays bounded, and nothing outlives it.

mod common;
use common::*;

/// Grades in this scope run with the sandbox off, as on a system without
/// Landlock. (Tests in this file run one at a time: `serial`.)
struct SandboxOff;

impl SandboxOff {
    fn new() -> SandboxOff {
        std::env::set_var("GRADE_SANDBOX", "off");
        SandboxOff
    }
}

impl Drop for SandboxOff {
    fn drop(&mut self) {
        std::env::remove_var("GRADE_SANDBOX");
    }
}

fn grade(dir: &std::path::Path, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let path = dir.to_string_lossy().into_owned();
    let mut args = vec!["01-bind", "--submission", &path, "--format", "json"];
    args.extend_from_slice(extra);
    let o = cargo_grade(&args);
    let r = json(&o);
    (o, r)
}

/// With the sandbox off (a system without Landlock), a program that writes
/// into the kit fails the grade and the kit is restored. (With it on, the
/// writes are refused: the sandbox test.)
#[test]
fn writing_into_the_kits_suites_and_snapshots_has_no_effect_and_fails() {
    let _g = serial();
    let _off = SandboxOff::new();
    let snap = kit_root().join("grader/suites/01-bind/snapshots/json.health.snap");
    let meta = kit_root().join("grader/suites/01-bind/exercise.toml");
    let (snap_before, meta_before) = (std::fs::read(&snap).unwrap(), std::fs::read(&meta).unwrap());
    let vandal = format!(
        r#"fn main() {{
    let _ = std::fs::write({:?}, "---\nsource: x\n---\nanything goes\n");
    let _ = std::fs::write({:?}, "title = \"pwned\"\n");
    std::process::exit(1);
}}
"#,
        snap.display().to_string(),
        meta.display().to_string()
    );
    let sub = submission("01-bind", &[("main.rs", &vandal)]);
    let (o, r) = grade(sub.path(), &[]);
    assert_eq!(code(&o), 1, "{r:#}");
    let integrity = check(&r, "integrity");
    assert_eq!(integrity["status"], "fail", "{r:#}");
    let said = integrity["message"].as_str().unwrap();
    assert!(said.contains("json.health.snap") && said.contains("exercise.toml"), "{integrity}");
    // What was written is kept, not lost (an instructor's edit made while a
    // grade runs would be undone too).
    let kept = said.split("kept in ").nth(1).and_then(|k| k.split(')').next()).expect("where it is kept");
    let kept = std::path::Path::new(kept.trim());
    let meta_kept = kept.join("grader/suites/01-bind/exercise.toml");
    assert_eq!(std::fs::read_to_string(&meta_kept).unwrap(), "title = \"pwned\"\n");
    let _ = std::fs::remove_dir_all(kept);
    assert_eq!(std::fs::read(&snap).unwrap(), snap_before, "the kit's snapshot must be restored");
    assert_eq!(std::fs::read(&meta).unwrap(), meta_before, "the suite's metadata must be restored");
    assert_eq!(r["score"], 0);
}

#[test]
fn a_build_script_and_manifest_in_the_submission_are_ignored() {
    let _g = serial();
    let marker = std::env::temp_dir().join(format!("grade-build-rs-ran-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let sub = reference_submission("01-bind");
    let ex = sub.path().join("exercises/01-bind");
    std::fs::write(
        ex.join("build.rs"),
        format!("fn main() {{ std::fs::write({:?}, b\"ran\").unwrap(); }}\n", marker.display().to_string()),
    )
    .unwrap();
    std::fs::write(
        ex.join("Cargo.toml"),
        "[package]\nname = \"bind\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n",
    )
    .unwrap();
    // A build.rs inside src/ is not a build script either.
    std::fs::write(ex.join("src/build.rs"), "compile_error!(\"never compiled\");\n").unwrap();
    let (o, r) = grade(sub.path(), &[]);
    assert_eq!(code(&o), 0, "{r:#}");
    assert!(!marker.exists(), "the submission's build.rs ran");
}

#[test]
fn the_student_program_sees_a_minimal_environment() {
    let _g = serial();
    // The program prints what it sees (it may write no file outside its
    // folder), and the report carries its output.
    let spy = r#"fn main() {
    let keys: Vec<String> = std::env::vars().map(|(k, _)| format!("ENV {k}")).collect();
    println!("{}", keys.join("\n"));
    std::process::exit(1);
}
"#;
    let sub = submission("01-bind", &[("main.rs", spy)]);
    let (o, r) = grade(sub.path(), &[]);
    assert_eq!(code(&o), 1);
    let out = check(&r, "bind.listens")["output"].as_str().unwrap_or("").to_string();
    let seen: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("ENV ")).collect();
    assert!(seen.contains(&"PORT"), "the program ran and printed its environment: {out}");
    // RUST_BACKTRACE=0 keeps panics short; TMPDIR is the program's own folder.
    let allowed = ["PATH", "HOME", "LANG", "TZ", "RUST_BACKTRACE", "TMPDIR", "HOST", "PORT", "PUBLIC_DIR"];
    for key in seen {
        assert!(allowed.contains(&key), "the student program saw {key}; only {allowed:?} may reach it");
    }
}

#[test]
fn endless_output_is_capped_and_the_run_is_bounded() {
    let _g = serial();
    let flood = r#"use std::io::Write;
fn main() {
    let line = "x".repeat(65536) + "\n";
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    loop {
        let _ = out.write_all(line.as_bytes());
        let _ = err.write_all(line.as_bytes());
    }
}
"#;
    let sub = submission("01-bind", &[("main.rs", flood)]);
    let started = std::time::Instant::now();
    let (o, r) = grade(sub.path(), &["--check-timeout", "2"]);
    assert_eq!(code(&o), 1, "{r:#}");
    assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
    assert!(o.stdout.len() < 1024 * 1024, "the report carried {} bytes", o.stdout.len());
    assert!(survivors(&kit_binary("grade-01-bind-bind"), 5).is_empty(), "the flooding program survived");
}

/// A program that leaves its process group every way it can: `setsid -f`,
/// a double fork through a shell, and a new group of its own
/// (`Command::process_group(0)`, std only). After the grade, none of them
/// may be alive (on Linux the grader is their subreaper).
#[test]
#[cfg(target_os = "linux")]
fn processes_that_escape_their_group_do_not_outlive_the_grade() {
    let _g = serial();
    let marker = format!("{}.{}", 4000 + std::process::id() % 1000, std::process::id() % 97);
    let escape = format!(
        r#"use std::os::unix::process::CommandExt;
use std::process::Command;
fn main() {{
    let _ = Command::new("setsid").args(["-f", "sleep", "{marker}1"]).status();
    let _ = Command::new("sh").args(["-c", "(sleep {marker}2 &) &"]).status();
    let _ = Command::new("sleep").arg("{marker}3").process_group(0).spawn();
    std::process::exit(1);
}}
"#
    );
    let sub = submission("01-bind", &[("main.rs", &escape)]);
    let (o, r) = grade(sub.path(), &[]);
    assert_eq!(code(&o), 1, "{r:#}");
    for n in 1..=3 {
        let left = survivors(&format!("sleep {marker}{n}"), 5);
        assert!(left.is_empty(), "escape {n} outlived the grade: {left:?}");
    }
}

/// What a graded program tries to reach, printed as `PROBE name ok|denied`.
fn probing_program() -> String {
    let kit = kit_root();
    format!(
        r#"fn main() {{
    let kit = std::path::Path::new({kit:?});
    let parent = std::os::unix::process::parent_id();
    let probes: Vec<(&str, bool)> = vec![
        ("solutions", std::fs::read_to_string(kit.join("solutions/01-bind/src/main.rs")).is_ok()),
        ("reference-binary", std::fs::File::open(kit.join("target/debug/grade-01-bind-reference")).is_ok()),
        ("kit-listing", std::fs::read_dir(kit).is_ok()),
        ("kit-write", std::fs::write(kit.join("grader/suites/01-bind/probe-written"), "x").is_ok()),
        ("suite-environ", std::fs::read(format!("/proc/{{parent}}/environ")).is_ok_and(|e| !e.is_empty())),
    ];
    for (name, ok) in probes {{
        println!("PROBE {{name}} {{}}", if ok {{ "ok" }} else {{ "denied" }});
    }}
    // Network interfaces besides loopback (read, no traffic sent).
    // (Unreadable counts as reached: the probe must see the namespace.)
    let other = std::fs::read_to_string("/proc/self/net/dev")
        .map_or(true, |net| net.lines().skip(2).any(|l| !l.trim_start().starts_with("lo:")));
    println!("PROBE network {{}}", if other {{ "ok" }} else {{ "denied" }});
    // Open descriptors besides 0, 1, 2 and the one listing them.
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    println!("PROBE stray-descriptors {{}}", if fds > 4 {{ "ok" }} else {{ "denied" }});
    // A server of the check's (here: one the program opens itself on its
    // PORT, which it may) reached by connecting to it: the reference's
    // server beside it in a differential check would be reached the same way.
    let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port));
    let reached = listener.is_ok() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    println!("PROBE connect {{}}", if reached {{ "ok" }} else {{ "denied" }});
    std::process::exit(1);
}}
"#,
        kit = kit.display().to_string()
    )
}

fn probes(r: &serde_json::Value) -> Vec<(String, String)> {
    let out = check(r, "bind.listens")["output"].as_str().unwrap_or("").to_string();
    out.lines()
        .filter_map(|l| l.strip_prefix("PROBE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
#[cfg(target_os = "linux")]
fn the_sandbox_keeps_the_program_from_the_reference_the_kit_and_the_suite() {
    let _g = serial();
    // The reference binary exists (the differential checks build it).
    let _ = cargo_grade(&["01-bind", "--reference", "--seed", "1"]);
    let sub = submission("01-bind", &[("main.rs", &probing_program())]);
    let (o, r) = grade(sub.path(), &[]);
    assert_eq!(code(&o), 1, "{r:#}");
    let seen = probes(&r);
    assert_eq!(seen.len(), 8, "every probe reported: {r:#}");
    // Without root there is no network namespace to make (documented).
    let root = unsafe { libc::geteuid() } == 0;
    let reached: Vec<&(String, String)> = seen.iter().filter(|(k, v)| v == "ok" && (root || k != "network")).collect();
    assert!(reached.is_empty(), "the graded program reached {reached:?}");
    assert!(!kit_root().join("grader/suites/01-bind/probe-written").exists());
}

#[test]
#[cfg(target_os = "linux")]
fn with_the_sandbox_off_the_same_program_reaches_the_kit() {
    // The fallback (GRADE_SANDBOX=off, or a system without Landlock) is
    // what the docs say it is: the program runs unconfined, and only the
    // integrity guard and the process rules hold.
    let _g = serial();
    let sub = submission("01-bind", &[("main.rs", &probing_program())]);
    let path = sub.path().to_string_lossy().into_owned();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
        .current_dir(kit_root())
        .args(["01-bind", "--submission", &path, "--format", "json"])
        .env("GRADE_SANDBOX", "off")
        .output()
        .unwrap();
    let r = json(&o);
    let seen = probes(&r);
    assert!(seen.iter().any(|(k, v)| k == "solutions" && v == "ok"), "{seen:?}");
    // The kit write was undone and failed the grade.
    assert!(!kit_root().join("grader/suites/01-bind/probe-written").exists(), "the guard removed it");
    assert_eq!(check(&r, "integrity")["status"], "fail", "{r:#}");
}

/// Reading the reference while compiling (`#[path]`, `include!`, relative
/// or absolute) is refused before the build, naming the file and line.
#[test]
fn reading_the_reference_at_compile_time_is_refused_with_file_and_line() {
    let _g = serial();
    let solution = kit_root().join("solutions/01-bind/src/main.rs");
    for main in [
        format!("#[path = {:?}]\nmod real;\nfn main() {{ real::main() }}\n", solution.display().to_string()),
        "// the real thing\ninclude!(\"../../../../../../../../solutions/01-bind/src/main.rs\");\n".to_string(),
    ] {
        let sub = submission("01-bind", &[("main.rs", &main)]);
        let (o, r) = grade(sub.path(), &[]);
        assert_eq!(code(&o), 1, "{r:#}");
        assert_eq!(r["score"], 0, "{r:#}");
        let compile = check(&r, "compile");
        assert_eq!(compile["status"], "fail", "{r:#}");
        let said = compile["message"].as_str().unwrap();
        let line = if main.starts_with("#[path") { 1 } else { 2 };
        assert!(said.contains(&format!("exercises/01-bind/src/main.rs:{line}:")), "{said}");
    }
}

/// A class graded in one batch, the hostile submission first: it replaces
/// the built suite with a forger, edits the harness, leaves a daemon behind
/// and exits. In both modes (the sandbox on, and off as on a system without
/// Landlock) it fails, and the two honest submissions after it keep their
/// real grades: the untouched stub 0, the reference 19/19.
#[test]
#[cfg(target_os = "linux")]
fn a_hostile_submission_cannot_change_the_next_students_grade() {
    let _g = serial();
    let kit = kit_root();
    let suite_bin = kit.join("target/debug/grade-01-bind-suite");
    let harness_file = kit.join("harness/src/lib.rs");
    let harness_before = std::fs::read(&harness_file).unwrap();
    let mallory = format!(
        r##"use std::os::unix::fs::PermissionsExt;
fn main() {{
    let forger = "#!/bin/sh\necho '{{\"event\":\"hello\",\"version\":1,\"suite\":\"x\",\"seed\":1,\"checks\":[]}}' >&3\nfor id in $(printf %s \"$GRADE_ONLY\" | tr -d '[]\"' | tr , ' '); do\n  echo '{{\"event\":\"start\",\"check\":\"'$id'\"}}' >&3\n  echo '{{\"event\":\"end\",\"check\":\"'$id'\",\"outcome\":{{\"status\":\"pass\",\"message\":\"\"}}}}' >&3\ndone\n";
    let fake = std::env::temp_dir().join(format!("forger-{{}}", std::process::id()));
    let _ = std::fs::write(&fake, forger);
    let _ = std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755));
    let _ = std::fs::rename(&fake, {suite:?});
    let _ = std::fs::write({harness:?}, "// pwned\n");
    let _ = std::process::Command::new("setsid").args(["-f", "sleep", "3000.{pid}"]).status();
    std::process::exit(1);
}}
"##,
        suite = suite_bin.display().to_string(),
        harness = harness_file.display().to_string(),
        pid = std::process::id() % 1000,
    );
    for sandbox in ["on", "off"] {
        let root = tempfile::tempdir().unwrap();
        let put = |name: &str, files: &[(String, Vec<u8>)]| {
            let dir = root.path().join(name).join("exercises/01-bind/src");
            for (p, bytes) in files {
                std::fs::create_dir_all(dir.join(p).parent().unwrap()).unwrap();
                std::fs::write(dir.join(p), bytes).unwrap();
            }
            root.path().join(name).to_string_lossy().into_owned()
        };
        let a = put("a-mallory", &[("main.rs".into(), mallory.clone().into_bytes())]);
        let b = put("b-alice", &read_dir_files(&kit.join("exercises/01-bind/src")));
        let c = put("c-bob", &read_dir_files(&kit.join("solutions/01-bind/src")));
        let out = root.path().join("grades");
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
            .current_dir(&kit)
            .args(["batch", "--exercise", "01-bind", "--out", out.to_str().unwrap(), &a, &b, &c])
            .env("GRADE_SANDBOX", sandbox)
            .output()
            .unwrap();
        let book = std::fs::read_to_string(out.join("gradebook.csv")).unwrap_or_else(|_| stderr(&o));
        assert!(book.contains("a-mallory,01-bind,0,19,fail"), "sandbox {sandbox}:\n{book}\n{}", stderr(&o));
        assert!(book.contains("b-alice,01-bind,0,19,fail"), "sandbox {sandbox}:\n{book}");
        assert!(book.contains("c-bob,01-bind,19,19,pass"), "sandbox {sandbox}:\n{book}");
        assert_eq!(std::fs::read(&harness_file).unwrap(), harness_before, "the harness was restored");
        let left = survivors(&format!("sleep 3000.{}", std::process::id() % 1000), 5);
        assert!(left.is_empty(), "the daemon outlived the batch: {left:?}");
    }
}

/// A `Pool::new` that tries to forge the verdict from inside the student's
/// library: pass events for every check written to descriptor 3 (the
/// results pipe, back when the suite linked the library: a measured 26/26),
/// to every file a `GRADE_*` variable names (its own environment's, and its
/// parent's read through `/proc`) and to its parent's descriptor 3; then it
/// exits 0. It prints what it reached as `PROBE name ok|denied`.
fn forging_pool(ids: &[String]) -> String {
    let stub = std::fs::read_to_string(kit_root().join("exercises/03-pool/src/pool.rs")).unwrap();
    let todo = r#"todo!("create the shared state; open no connection yet (docs/src/03-pool.md, \"The task\")")"#;
    assert!(stub.contains(todo), "the stub's Pool::new changed; update this test");
    let forge = format!(
        r####"
fn forge() -> ! {{
    use std::io::Write;
    let ids: &[&str] = &{ids:?};
    let mut lines = String::from("{{\"event\":\"hello\",\"version\":1,\"suite\":\"03-pool\",\"seed\":1,\"checks\":[]}}\n");
    for id in ids {{
        lines += &format!("{{{{\"event\":\"start\",\"check\":\"{{id}}\"}}}}\n");
        lines += &format!("{{{{\"event\":\"end\",\"check\":\"{{id}}\",\"outcome\":{{{{\"status\":\"pass\",\"message\":\"\"}}}}}}}}\n");
    }}
    let append = |path: &str| {{
        std::fs::OpenOptions::new().append(true).open(path).and_then(|mut f| f.write_all(lines.as_bytes())).is_ok()
    }};
    let parent = std::os::unix::process::parent_id();
    let environ = std::fs::read(format!("/proc/{{parent}}/environ")).unwrap_or_default();
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    for pair in environ.split(|b| *b == 0) {{
        if let Some((k, v)) = String::from_utf8_lossy(pair).split_once('=') {{
            vars.push((k.to_string(), v.to_string()));
        }}
    }}
    let named = vars.iter().filter(|(k, _)| k.starts_with("GRADE_")).fold(false, |any, (_, v)| append(v) | any);
    let probes = [
        ("parent-environ", !environ.is_empty()),
        ("grade-variables", vars.iter().any(|(k, _)| k.starts_with("GRADE_"))),
        ("grade-files", named),
        ("parent-fd3", append(&format!("/proc/{{parent}}/fd/3"))),
    ];
    for (name, ok) in probes {{
        eprintln!("PROBE {{name}} {{}}", if ok {{ "ok" }} else {{ "denied" }});
    }}
    // Last, its own descriptor 3, where the suite's results pipe would be if
    // the library ran inside the suite.
    append("/proc/self/fd/3");
    std::process::exit(0);
}}
"####
    );
    stub.replace(todo, "forge()") + &forge
}

#[test]
#[cfg(target_os = "linux")]
fn a_library_that_forges_results_gets_no_points() {
    let _g = serial();
    let meta: toml::Value =
        toml::from_str(&std::fs::read_to_string(kit_root().join("grader/suites/03-pool/exercise.toml")).unwrap())
            .unwrap();
    let ids: Vec<String> =
        meta["check"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    let sub = stub_submission("03-pool");
    std::fs::write(sub.path().join("exercises/03-pool/src/pool.rs"), forging_pool(&ids)).unwrap();
    let path = sub.path().to_string_lossy().into_owned();
    for sandbox in ["on", "off"] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-grade"))
            .current_dir(kit_root())
            .args(["03-pool", "--submission", &path, "--format", "json", "--fresh"])
            .env("GRADE_SANDBOX", sandbox)
            .output()
            .unwrap();
        let r = json(&o);
        assert_eq!(code(&o), 1, "sandbox {sandbox}: {r:#}");
        assert_eq!(r["score"], 0, "sandbox {sandbox}: {r:#}");
        let passed: Vec<&str> = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "pass" && c["id"] != "compile")
            .filter_map(|c| c["id"].as_str())
            .collect();
        assert!(passed.is_empty(), "sandbox {sandbox}: forged passes {passed:?}: {r:#}");
        // It ran, and said what it reached: never the results pipe (its
        // program starts without CAP_SYS_PTRACE, root or not), and with the
        // sandbox nothing of the suite's at all. (Without it, root still
        // reads the suite's environment: docs/src/grading.md.)
        let first = check(&r, &ids[0]);
        let said = format!("{} {}", first["message"], first["output"]);
        let denied: &[&str] = match sandbox {
            "on" => &["parent-environ", "grade-variables", "grade-files", "parent-fd3"],
            _ => &["grade-files", "parent-fd3"],
        };
        for probe in denied {
            assert!(said.contains(&format!("PROBE {probe} denied")), "sandbox {sandbox}: {probe}: {first:#}");
        }
        assert!(said.contains("ended before Pool::new returned"), "sandbox {sandbox}: {first:#}");
    }
}
