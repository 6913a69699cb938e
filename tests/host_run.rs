//! `kos-host-run` end to end, with entities that are `sh -c` scripts:
//! prefixed output, the environment contract, exit statuses (first
//! failure, a signal, the timeout, `--main`), stopping on SIGINT and after
//! the grace period, templates, and the init.yaml errors reported before
//! anything starts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kos-host-run");

/// A fresh directory for one test.
fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kos-host-run-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One entity running `script` under /bin/sh.
fn sh(name: &str, script: &str) -> String {
    let quoted = script.replace('\'', "''");
    format!("- name: {name}\n  path: /bin/sh\n  args: [-c, '{quoted}']\n")
}

fn write_init(d: &Path, file: &str, text: &str) -> PathBuf {
    let p = d.join(file);
    std::fs::write(&p, text).unwrap();
    p
}

fn run(args: &[&str], init: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg(init)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sorted_lines(b: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = text(b).lines().map(String::from).collect();
    v.sort();
    v
}

/// Whether process `pid` still exists (a zombie counts as gone: the
/// launcher reaps its children, the test's sh scripts' children are
/// reaped by init).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn wait_for_file(p: &Path, within: Duration) -> String {
    let until = Instant::now() + within;
    loop {
        if let Ok(s) = std::fs::read_to_string(p) {
            if s.ends_with('\n') {
                return s;
            }
        }
        assert!(Instant::now() < until, "{} never written", p.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn output_lines_are_prefixed_on_the_stream_they_were_written_to() {
    let d = dir("prefix");
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}{}",
            sh(
                "echo.Server",
                "echo one; echo two >&2; echo three; printf no-newline"
            ),
            sh("echo.Client", "printf \"a\\nb\\n\" >&2; echo c"),
        ),
    );
    let out = run(&[], &init);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        sorted_lines(&out.stdout),
        vec![
            "[echo.Client] c",
            "[echo.Server] no-newline",
            "[echo.Server] one",
            "[echo.Server] three",
        ]
    );
    assert_eq!(
        sorted_lines(&out.stderr),
        vec!["[echo.Client] a", "[echo.Client] b", "[echo.Server] two"]
    );
    // One entity's lines keep their order.
    let so = text(&out.stdout);
    assert!(so.find("[echo.Server] one").unwrap() < so.find("[echo.Server] three").unwrap());
}

#[test]
fn each_entity_gets_its_env_and_the_emulator_contract() {
    let d = dir("env");
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}  env:\n    MINE: 'YES'\n    LEVEL: 3\n  connections:\n  - target: echo.Server\n    id: server_connection\n  - target: kl.VfsRamFs\n    id: kl.VfsRamFs\n{}{}",
            sh(
                "echo.Client",
                "echo \"$KOS_HOST_ENTITY|$KOS_HOST_CONNECTIONS|$MINE|$LEVEL|$KOS_HOST_WORLD|$FROM_LAUNCHER|$KOS_SHIM_TRACE|$KOS_SHIM_STATS\""
            ),
            sh(
                "echo.Server",
                "echo \"$KOS_HOST_ENTITY|$KOS_HOST_CONNECTIONS|$MINE|$KOS_SHIM_TRACE\""
            ),
            // The entity's own KOS_SHIM_TRACE wins over --trace.
            sh("kl.VfsRamFs", "echo \"$KOS_SHIM_TRACE\"") + "  env:\n    KOS_SHIM_TRACE: stderr\n",
        ),
    );
    let t = d.join("traces");
    let s = d.join("stats");
    let out = Command::new(BIN)
        .args([
            "--trace",
            t.to_str().unwrap(),
            "--stats",
            s.to_str().unwrap(),
        ])
        .arg(&init)
        .env("FROM_LAUNCHER", "inherited")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let so = text(&out.stdout);
    let client = so
        .lines()
        .find_map(|l| l.strip_prefix("[echo.Client] "))
        .unwrap();
    let f: Vec<&str> = client.split('|').collect();
    assert_eq!(f[0], "echo.Client");
    assert_eq!(
        f[1],
        "server_connection=echo.Server,kl.VfsRamFs=kl.VfsRamFs"
    );
    assert_eq!((f[2], f[3]), ("YES", "3"));
    assert!(f[4].starts_with("kos-host-"), "{client}");
    assert_eq!(f[5], "inherited");
    assert_eq!(
        f[6],
        format!("file:{}", t.join("echo.Client.kst").display())
    );
    assert_eq!(
        f[7],
        format!("timing,json:{}", s.join("echo.Client.json").display())
    );
    assert!(
        so.contains(&format!(
            "[echo.Server] echo.Server|||file:{}\n",
            t.join("echo.Server.kst").display()
        )),
        "{so}"
    );
    assert!(so.contains("[kl.VfsRamFs] stderr\n"), "{so}");
    assert!(t.is_dir() && s.is_dir());
}

#[test]
fn the_first_failure_gives_the_status_and_stops_the_others() {
    let d = dir("fail");
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}{}{}",
            sh("echo.Server", "echo $$ > server.pid; exec sleep 30"),
            // Fails once the server is surely up.
            sh(
                "echo.Client",
                "while [ ! -s server.pid ]; do sleep 0.05; done; sleep 0.3; exit 3"
            ),
            sh("echo.Late", "sleep 0.6; exit 5"),
        ),
    );
    let t0 = Instant::now();
    let out = Command::new(BIN)
        .arg(&init)
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "kos-host-run: echo.Client exited with status 3\n"
    );
    let pid: u32 = std::fs::read_to_string(d.join("server.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "the server was not stopped");
}

#[test]
fn an_entity_killed_by_a_signal_is_reported_and_one_ignoring_sigterm_is_killed() {
    let d = dir("kill9");
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}{}",
            // Ignores SIGTERM (and so does its sleep): needs the SIGKILL.
            sh(
                "echo.Server",
                "trap \"\" TERM; echo $$ > server.pid; sleep 30; sleep 30"
            ),
            sh(
                "echo.Client",
                "while [ ! -s server.pid ]; do sleep 0.05; done; sleep 0.3; kill -9 $$"
            ),
        ),
    );
    let t0 = Instant::now();
    let out = Command::new(BIN)
        .args(["--grace", "0.5"])
        .arg(&init)
        .current_dir(&d)
        .output()
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(out.status.code(), Some(137), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "kos-host-run: echo.Client died (signal 9)\n\
         kos-host-run: echo.Server did not stop within 0.5 s of SIGTERM; killed (SIGKILL)\n"
    );
    assert!(
        took >= Duration::from_millis(750) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let pid: u32 = std::fs::read_to_string(d.join("server.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid));
}

fn spawn_launcher(args: &[&str], init: &Path, cwd: &Path) -> Child {
    Command::new(BIN)
        .args(args)
        .arg(init)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn sigint_to_the_launcher_stops_every_entity() {
    let d = dir("sigint");
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}{}",
            sh("echo.Server", "echo $$ > server.pid; exec sleep 30"),
            sh("echo.Client", "echo $$ > client.pid; sleep 30; sleep 30"),
        ),
    );
    let t0 = Instant::now();
    let child = spawn_launcher(&[], &init, &d);
    let server: u32 = wait_for_file(&d.join("server.pid"), Duration::from_secs(5))
        .trim()
        .parse()
        .unwrap();
    let client: u32 = wait_for_file(&d.join("client.pid"), Duration::from_secs(5))
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) on the launcher we spawned and have not waited for.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "kos-host-run: SIGINT: stopping 2 running entities\n"
    );
    assert!(!alive(server) && !alive(client));
}

#[test]
fn a_launcher_killed_outright_leaves_no_entity_running() {
    let d = dir("sigkill");
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}",
            sh("echo.Server", "echo $$ > server.pid; exec sleep 30")
        ),
    );
    let mut child = spawn_launcher(&[], &init, &d);
    let server: u32 = wait_for_file(&d.join("server.pid"), Duration::from_secs(5))
        .trim()
        .parse()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while alive(server) {
        assert!(Instant::now() < until, "the entity outlived its launcher");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_timeout_stops_everything_and_fails() {
    let d = dir("timeout");
    let init = write_init(
        &d,
        "init.yaml",
        &format!("entities:\n{}", sh("echo.Server", "exec sleep 30")),
    );
    let t0 = Instant::now();
    let out = run(&["--timeout", "0.3"], &init);
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(
        text(&out.stderr),
        "kos-host-run: timeout: still running after 0.3 s: echo.Server; stopping\n"
    );
}

#[test]
fn when_the_main_entities_are_done_the_servers_are_stopped_and_the_run_succeeds() {
    let d = dir("main");
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}{}",
            sh("echo.Server", "exec sleep 30"),
            sh("echo.Client", "echo done"),
        ),
    );
    let t0 = Instant::now();
    let out = run(&["--main", "echo.Client"], &init);
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "[echo.Client] done\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn the_shared_memory_world_is_removed_at_the_end() {
    let d = dir("world");
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}",
            sh(
                "echo.Server",
                ": > /dev/shm/$KOS_HOST_WORLD && echo $KOS_HOST_WORLD"
            )
        ),
    );
    let out = run(&[], &init);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let world = text(&out.stdout)
        .trim()
        .strip_prefix("[echo.Server] ")
        .unwrap()
        .to_string();
    assert!(world.starts_with("kos-host-"));
    assert!(!Path::new("/dev/shm").join(&world).exists());
}

#[test]
fn dry_run_shows_what_would_start_and_starts_nothing() {
    let d = dir("dry");
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}  env: {{A: b}}\n  connections: [{{target: echo.Client, id: back}}]\n{}",
            sh("echo.Server", "touch started"),
            sh("echo.Client", "touch started"),
        ),
    );
    let out = Command::new(BIN)
        .args(["--dry-run", "--trace", "t"])
        .arg(&init)
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!d.join("started").exists() && !d.join("t").exists());
    let so = text(&out.stdout);
    let world = so
        .lines()
        .find_map(|l| l.strip_prefix("  KOS_HOST_WORLD="))
        .unwrap();
    assert_eq!(
        so,
        format!(
            "echo.Server: /bin/sh \"-c\" \"touch started\"\n  KOS_SHIM_TRACE=file:t/echo.Server.kst\n  A=b\n  KOS_HOST_WORLD={world}\n  KOS_HOST_ENTITY=echo.Server\n  KOS_HOST_CONNECTIONS=back=echo.Client\n\
             echo.Client: /bin/sh \"-c\" \"touch started\"\n  KOS_SHIM_TRACE=file:t/echo.Client.kst\n  KOS_HOST_WORLD={world}\n  KOS_HOST_ENTITY=echo.Client\n  KOS_HOST_CONNECTIONS=\n"
        )
    );
}

#[test]
fn template_placeholders_are_replaced_or_reported() {
    let d = dir("template");
    let body = "entities:\n- name: echo.Server\n  path: @SHELL@\n  args: [-c, 'echo @WORD@']\n@INIT_Server_ENTITY_CONNECTIONS@\n";
    let init = write_init(&d, "init.yaml.in", body);
    let out = run(
        &[
            "-D",
            "SHELL=/bin/sh",
            "--define",
            "WORD=hello",
            "-D",
            "INIT_Server_ENTITY_CONNECTIONS=",
        ],
        &init,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "[echo.Server] hello\n");
    let out = run(&["-D", "SHELL=/bin/sh"], &init);
    assert_eq!(out.status.code(), Some(2));
    let f = init.display();
    assert_eq!(
        text(&out.stderr),
        format!(
            "kos-host-run: {f}:4:20: placeholder @WORD@ has no value (give --define WORD=VALUE; an empty value removes it)\n\
             kos-host-run: {f}:5:1: placeholder @INIT_Server_ENTITY_CONNECTIONS@ has no value (give --define INIT_Server_ENTITY_CONNECTIONS=VALUE; an empty value removes it)\n"
        )
    );
}

/// Runs a broken init.yaml whose valid entity would leave a mark; returns
/// stderr after checking the status and that nothing started.
fn refused(tag: &str, body: &str) -> (String, String) {
    let d = dir(tag);
    let init = write_init(
        &d,
        "init.yaml",
        &format!("entities:\n{}{body}", sh("mark.Started", "touch started")),
    );
    let out = Command::new(BIN)
        .arg(&init)
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!d.join("started").exists(), "an entity was started");
    assert_eq!(text(&out.stdout), "");
    (text(&out.stderr), init.display().to_string())
}

#[test]
fn an_unknown_target_is_refused_before_anything_starts() {
    let (err, f) = refused(
        "target",
        &(sh("echo.Client", "true")
            + "  connections:\n  - target: echo.Srv\n    id: server_connection\n"),
    );
    assert_eq!(
        err,
        format!("kos-host-run: {f}: entity echo.Client: connections[0]: target echo.Srv is not an entity of this file\n")
    );
}

#[test]
fn a_duplicate_name_is_refused() {
    let (err, f) = refused("dup", &sh("mark.Started", "true"));
    assert_eq!(
        err,
        format!(
            "kos-host-run: {f}: entity mark.Started: duplicate name (entity names are unique)\n"
        )
    );
}

#[test]
fn a_missing_executable_is_refused_naming_where_it_was_looked_for() {
    let (err, f) = refused(
        "missing",
        "- name: echo.Server\n- name: echo.Other\n  path: bin/Other\n",
    );
    let dir = Path::new(&f).parent().unwrap().display().to_string();
    assert_eq!(
        err,
        format!(
            "kos-host-run: {f}: entity echo.Server: no executable (no path; \"Server\" from the name; looked for {dir}/Server)\n\
             kos-host-run: {f}: entity echo.Other: no executable (path \"bin/Other\"; looked for {dir}/bin/Other)\n"
        )
    );
}

#[test]
fn an_executable_is_found_in_a_bin_dir() {
    let d = dir("bindir");
    let bin = d.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("Server");
    std::fs::write(&exe, "#!/bin/sh\necho found \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let init = write_init(
        &d,
        "init.yaml",
        "entities:\n- name: echo.Server\n  args: [x, 1]\n",
    );
    let out = run(&["--bin-dir", bin.to_str().unwrap()], &init);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "[echo.Server] found x 1\n");
}

#[test]
fn malformed_yaml_is_reported_with_its_position() {
    let (err, f) = refused("yaml", "- name: echo.Bad\n  args: [a, b\n");
    assert!(err.starts_with(&format!("kos-host-run: {f}:")), "{err}");
    // line:col: message, from the YAML parser.
    let rest = &err[format!("kos-host-run: {f}:").len()..];
    let mut it = rest.splitn(3, ':');
    let line: u32 = it.next().unwrap().parse().unwrap();
    let _col: u32 = it.next().unwrap().parse().unwrap();
    assert!(line >= 4, "{err}");
    let (err, f) = refused("field", "- name: echo.Bad\n  args: {a: 1}\n");
    assert_eq!(
        err,
        format!(
            "kos-host-run: {f}:6:9: entities[1].args: invalid type: map, expected a sequence\n"
        )
    );
}
/// A `.kst` of one process with the given records (pid, clock 0 at wall `wall`).
fn kst_file(path: &Path, pid: u32, wall: u64, recs: &[kos_ipc_shim::trace::KosShimTraceRecord]) {
    use kos_ipc_shim::names::NameMap;
    use kos_ipc_shim::trace::kst::{Header, KstWriter};
    let mut h = Header::now(0, NameMap::new());
    h.pid = pid;
    h.start_ns = 0;
    h.wall_ns = wall;
    let mut w = KstWriter::new(Vec::new(), &h).unwrap();
    for r in recs {
        w.write(r, &[]).unwrap();
    }
    std::fs::write(path, w.into_inner()).unwrap();
}

#[test]
fn with_trace_the_entities_traces_are_merged_into_one_timeline() {
    use kos_ipc_shim::trace::record::KOS_SHIM_TRACE_KIND_CALL;
    use kos_ipc_shim::trace::KosShimTraceRecord as Rec;
    let d = dir("merge");
    let base = Rec {
        kind: KOS_SHIM_TRACE_KIND_CALL,
        iid: 1,
        mid: 1,
        correlation: 42,
        ..Default::default()
    };
    // What a client (pid 10) and a server (pid 20) would have written.
    let call = Rec {
        op: 0,
        start: 1_000,
        duration: 9_000,
        thread: 11,
        ..base
    };
    let recv = Rec {
        op: 2,
        start: 2_000,
        duration: 1_000,
        thread: 21,
        peer_task: 10,
        peer_thread: 11,
        ..base
    };
    let reply = Rec {
        op: 4,
        start: 4_000,
        duration: 500,
        thread: 21,
        ..base
    };
    kst_file(&d.join("client.src"), 10, 1_000_000, &[call]);
    kst_file(&d.join("server.src"), 20, 1_000_000, &[recv, reply]);
    // Each entity "traces" by copying its file to where KOS_SHIM_TRACE says.
    let copy = |src: &str| format!("cp {} \"${{KOS_SHIM_TRACE#file:}}\"", d.join(src).display());
    let init = write_init(
        &d,
        "init.yaml",
        &format!(
            "entities:\n{}{}{}",
            sh("echo.Client", &copy("client.src")),
            sh("echo.Server", &copy("server.src")),
            sh("echo.Untraced", "true"),
        ),
    );
    let t = d.join("traces");
    // A stale trace of an earlier run is not merged.
    std::fs::create_dir_all(&t).unwrap();
    std::fs::copy(d.join("client.src"), t.join("echo.Untraced.kst")).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(t.join("echo.Untraced.kst"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let out = run(&["--trace", t.to_str().unwrap()], &init);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let merged = t.join("merged.json");
    assert_eq!(
        text(&out.stderr),
        format!(
            "kos-host-run: trace {}: 2 traces, 3 records: 1 of 1 calls linked to their server (1 by correlation id, 0 by client task and thread), 1 replies linked; 0 server records without a client call, 0 calls without a server record, 0 lost\n",
            merged.display()
        )
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["echo.Client (pid 10)", "echo.Server (pid 20)"]);
}

#[test]
fn with_trace_and_no_traced_entity_the_launcher_says_so() {
    let d = dir("notrace");
    let init = write_init(
        &d,
        "init.yaml",
        &format!("entities:\n{}", sh("echo.Server", "true")),
    );
    let t = d.join("traces");
    let out = run(&["--trace", t.to_str().unwrap()], &init);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stderr),
        format!(
            "kos-host-run: --trace {}: no entity wrote a trace (programs linked with kos-ipc-shim write <entity>.kst there)\n",
            t.display()
        )
    );
}
