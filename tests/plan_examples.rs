//! The plan on real Dockerfile patterns: the examples people migrate and the
//! docker-library idioms. Golden files (insta) hold the human plans, reviewed
//! by hand; targeted asserts pin the decisions that matter.

use std::path::Path;

use assert_cmd::Command;
use scratchify::plan::{self, ContextDir, DroppedKind, Plan, PlanOptions, RequestOrigin};
use scratchify::source::SourceFile;

fn plan_file(path: &str, opts: &PlanOptions) -> Result<Plan, plan::PlanFailure> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let source = SourceFile::new(path, text);
    let df = scratchify::dockerfile::parse(&source).unwrap_or_else(|e| panic!("{path}: {e}"));
    let dir = Path::new(path).parent().unwrap().to_path_buf();
    plan::plan(&df, &source, opts, &ContextDir(dir)).map(|p| p.plan)
}

fn kept(plan: &Plan) -> Vec<String> {
    plan.packages.iter().map(|p| p.name.clone()).collect()
}

fn dropped_packages(plan: &Plan) -> Vec<(String, String)> {
    plan.dropped
        .iter()
        .filter_map(|d| match &d.what {
            DroppedKind::Package { name, .. } => Some((name.clone(), d.rule.clone())),
            _ => None,
        })
        .collect()
}

macro_rules! golden {
    ($name:ident, $path:expr) => {
        #[test]
        fn $name() {
            let plan = plan_file($path, &PlanOptions::default()).expect("plans");
            insta::assert_snapshot!(plan::render::human(&plan));
        }
    };
}

golden!(golden_nginx, "examples/nginx/Dockerfile");
golden!(golden_curl, "examples/curl/Dockerfile");
golden!(golden_redis, "examples/redis/Dockerfile");
golden!(golden_python_web, "examples/python-web/Dockerfile");
golden!(golden_alpine_nginx, "examples/alpine-nginx/Dockerfile");
golden!(golden_alpine_flask, "examples/alpine-flask/Dockerfile");
golden!(
    golden_docker_library,
    "tests/plan_fixtures/docker-library-python.Dockerfile"
);
golden!(
    golden_multi_stage,
    "tests/plan_fixtures/multi-stage.Dockerfile"
);
golden!(golden_heredoc, "tests/plan_fixtures/heredoc.Dockerfile");
golden!(golden_overrides, "tests/plan_fixtures/overrides.Dockerfile");

#[test]
fn nginx_keeps_package_accounts_and_directories_with_lines() {
    let plan = plan_file("examples/nginx/Dockerfile", &PlanOptions::default()).unwrap();
    assert_eq!(kept(&plan), ["nginx"]);
    assert!(
        !plan.packages[0].install_recommends,
        "--no-install-recommends is honoured"
    );
    assert_eq!(plan.packages[0].provenance.line, 5);
    let accounts: Vec<_> = plan
        .accounts
        .iter()
        .map(|a| (a.name.as_str(), a.system))
        .collect();
    assert_eq!(accounts, [("nginx", true), ("nginx", true)]);
    let json = serde_json::to_value(&plan).unwrap();
    let files = json["files"].as_array().unwrap();
    assert!(
        files
            .iter()
            .any(|f| f["kind"]["op"] == "make-dir" && f["kind"]["path"] == "/var/cache/nginx")
    );
    assert!(files.iter().any(|f| f["kind"]["op"] == "chown"
        && f["kind"]["path"] == "/var/log/nginx"
        && f["kind"]["owner"] == "nginx:nginx"));
    assert_eq!(plan.config.user.as_ref().unwrap().value, "nginx");
}

#[test]
fn curl_entrypoint_keeps_the_download_tool() {
    let plan = plan_file("examples/curl/Dockerfile", &PlanOptions::default()).unwrap();
    assert_eq!(kept(&plan), ["curl", "ca-certificates"]);
    // Without the entrypoint, curl is a build-only download tool.
    let text = "FROM debian:bookworm\nRUN apt-get install -y curl\nCMD [\"true\"]\n";
    let source = SourceFile::new("Dockerfile", text);
    let df = scratchify::dockerfile::parse(&source).unwrap();
    let p = plan::plan(&df, &source, &PlanOptions::default(), &plan::NoContext)
        .unwrap()
        .plan;
    assert_eq!(
        dropped_packages(&p),
        [("curl".into(), "build-only/download-tool".into())]
    );
}

#[test]
fn alpine_flask_reads_requirements_and_drops_build_deps() {
    let plan = plan_file("examples/alpine-flask/Dockerfile", &PlanOptions::default()).unwrap();
    let flask = plan
        .packages
        .iter()
        .find(|p| p.name == "Flask")
        .expect("Flask requested");
    assert_eq!(flask.version.as_deref(), Some("==3.0.3"));
    assert!(matches!(
        &flask.origin,
        RequestOrigin::Requirements { line: 1, .. }
    ));
    assert!(
        kept(&plan).contains(&"python3".to_string()),
        "pip packages imply python3"
    );
    let dropped = dropped_packages(&plan);
    for (name, rule) in [
        ("py3-pip", "build-only/package-manager"),
        ("gcc", "removed-later"),
        ("musl-dev", "removed-later"),
        ("python3-dev", "removed-later"),
    ] {
        assert!(
            dropped.contains(&(name.into(), rule.into())),
            "{name} {rule} in {dropped:?}"
        );
    }
    assert!(plan.dropped.iter().any(|d| d.rule == "build-input/consumed"
        && matches!(&d.what, DroppedKind::File { path } if path == "requirements.txt")));
}

#[test]
fn docker_library_auto_removal() {
    let plan = plan_file(
        "tests/plan_fixtures/docker-library-python.Dockerfile",
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(
        kept(&plan),
        ["ca-certificates", "netbase", "tzdata", "python3"]
    );
    let dropped = dropped_packages(&plan);
    assert_eq!(dropped.len(), 5);
    assert!(
        dropped.iter().all(|(_, r)| r == "auto-removed"),
        "{dropped:?}"
    );
}

#[test]
fn multi_stage_build_stage_is_dropped_and_copy_recorded() {
    let plan = plan_file(
        "tests/plan_fixtures/multi-stage.Dockerfile",
        &PlanOptions::default(),
    )
    .unwrap();
    let roles: Vec<_> = plan.stages.iter().map(|s| s.role).collect();
    use scratchify::plan::StageRole::*;
    assert_eq!(roles, [Build, Unused, Final]);
    // The global ARG expands in FROM.
    assert_eq!(plan.stages[0].base, "golang:1.22-bookworm");
    let json = serde_json::to_value(&plan.files).unwrap();
    assert_eq!(json[0]["kind"]["source"]["from"], "stage");
    assert_eq!(json[0]["kind"]["source"]["name"], "build");
    assert_eq!(json[0]["kind"]["dest"], "/usr/local/bin/app");
}

#[test]
fn keep_and_drop_flags_override_rules() {
    let opts = PlanOptions {
        keep: vec!["make".into()],
        drop: vec!["nginx".into()],
        ..Default::default()
    };
    let plan = plan_file("tests/plan_fixtures/overrides.Dockerfile", &opts).unwrap();
    assert_eq!(kept(&plan), ["wget", "git", "make"]);
    assert_eq!(
        dropped_packages(&plan),
        [("nginx".into(), "user/drop".into())]
    );
}

#[test]
fn unsupported_steps_fail_with_line_and_can_be_allowed() {
    let err = plan_file(
        "tests/plan_fixtures/unsupported.Dockerfile",
        &PlanOptions::default(),
    )
    .expect_err("refused");
    assert_eq!(err.errors.len(), 1, "{:?}", err.errors);
    assert_eq!(
        err.errors[0].one_line(),
        "tests/plan_fixtures/unsupported.Dockerfile:3: cannot interpret `python3 -c 'print(1)' > /opt/generated.txt`: runs Python code given with -c"
    );
    let opts = PlanOptions {
        allow_unsupported: true,
        ..Default::default()
    };
    let plan = plan_file("tests/plan_fixtures/unsupported.Dockerfile", &opts).unwrap();
    assert!(
        plan.dropped
            .iter()
            .any(|d| d.rule == "unsupported" && d.provenance.line == 3)
    );
}

#[test]
fn cli_exit_codes() {
    Command::cargo_bin("scratchify")
        .unwrap()
        .args(["plan", "examples/nginx/Dockerfile"])
        .assert()
        .success();
    let out = Command::cargo_bin("scratchify")
        .unwrap()
        .args(["plan", "tests/plan_fixtures/unsupported.Dockerfile"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("unsupported.Dockerfile:3"), "{err}");
    assert!(err.contains("--allow-unsupported"), "{err}");
    Command::cargo_bin("scratchify")
        .unwrap()
        .args([
            "plan",
            "--allow-unsupported",
            "tests/plan_fixtures/unsupported.Dockerfile",
        ])
        .assert()
        .success();
    let out = Command::cargo_bin("scratchify")
        .unwrap()
        .args(["plan", "tests/plan_fixtures/unknown-base.Dockerfile"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("unknown base image"), "{err}");
    assert!(err.contains("unknown-base.Dockerfile:1"), "{err}");
    let json = Command::cargo_bin("scratchify")
        .unwrap()
        .args(["plan", "--format", "json", "examples/redis/Dockerfile"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["packages"][0]["name"], "redis-server");
    assert_eq!(v["accounts"][1]["id"], 999);
}

#[test]
fn stage_references_name_the_first_earlier_stage_of_that_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    std::fs::write(
        &path,
        "FROM debian:bookworm AS Build\n\
         FROM debian:bookworm AS build\n\
         FROM debian:bookworm AS helper\n\
         FROM BUILD AS child\n\
         COPY --from=Build /a /a\n\
         COPY --from=later /b /b\n\
         COPY --from=1 /c /c\n\
         FROM debian:bookworm AS later\n",
    )
    .unwrap();
    let opts = PlanOptions {
        target: Some("child".into()),
        ..PlanOptions::default()
    };
    let plan = plan_file(path.to_str().unwrap(), &opts).unwrap();
    use scratchify::plan::StageRole::*;
    let roles: Vec<_> = plan.stages.iter().map(|s| s.role).collect();
    // `FROM BUILD` is the first stage named build (names compare
    // case-insensitively), `--from=1` the second; `later` comes after.
    assert_eq!(roles, [Ancestor, Build, Unused, Final, Unused]);
    let json = serde_json::to_value(&plan.files).unwrap();
    let sources: Vec<_> = (0..3).map(|i| json[i]["kind"]["source"].clone()).collect();
    assert_eq!(sources[0]["from"], "stage");
    assert_eq!(sources[0]["index"], 0);
    assert_eq!(sources[1]["from"], "image");
    assert_eq!(sources[1]["reference"], "later");
    assert_eq!(sources[2]["from"], "stage");
    assert_eq!(sources[2]["index"], 1);
}
