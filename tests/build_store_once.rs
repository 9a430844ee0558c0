//! One `scratchify build` reads and parses the Debian indices once: the
//! report's docker-build estimate is resolved against the store the
//! pipeline already loaded, not a second store that loads them again.
//!
//! `DebianStore::index_loads` counts loads of every thread of the process,
//! so this binary holds this one test only. examples/nginx is built for
//! real against the Debian repository of the host's apt sources, with the
//! download cache the build tests share.

mod build_support;

use build_support::{example_dir, options, store_cache};
use scratchify::commands::build::build_report;
use scratchify::image::LayerCache;
use scratchify::pipeline;
use scratchify::report;
use scratchify::store::DebianStore;

#[test]
fn a_build_and_its_report_load_the_debian_indices_once() {
    let opts = options(LayerCache::Dir(store_cache().join("layers")));
    let dockerfile = example_dir("nginx").join("Dockerfile");

    let before = DebianStore::index_loads();
    let built = match pipeline::build(&dockerfile, &opts) {
        Ok(b) => b,
        Err(e) => panic!("building nginx: {:?}", miette::Report::new(e)),
    };
    let after_build = DebianStore::index_loads();
    let r = match build_report(&built, 0) {
        Ok(r) => r,
        Err(e) => panic!("the report of nginx: {e:?}"),
    };
    let after_report = DebianStore::index_loads();

    let mut failures = Vec::new();
    if after_build - before != 1 {
        failures.push(format!(
            "the pipeline loaded the indices {} times, expected once",
            after_build - before
        ));
    }
    if after_report != after_build {
        failures.push(format!(
            "the report loaded the indices again ({} more times)",
            after_report - after_build
        ));
    }
    // The report has a docker-build side, and it is larger than the
    // minimal image (nginx on bookworm-slim keeps far less than apt
    // leaves).
    let t = &r.totals;
    if t.docker_build_estimate_bytes <= t.minimal_bytes || t.packages_before <= t.packages_after {
        failures.push(format!(
            "no docker-build side in the report: {} bytes / {} packages before, {} bytes / {} packages after",
            t.docker_build_estimate_bytes, t.minimal_bytes, t.packages_before, t.packages_after
        ));
    }

    // The same report from a store opened afresh, as the report did
    // before the build handed it its store: identical to the byte, and
    // that store loads the indices again (the counter sees a second store).
    let mut fresh = built;
    fresh.store = match pipeline::store_for(&fresh.plan, &opts.store) {
        Ok(s) => s,
        Err(e) => panic!("opening the store again: {:?}", miette::Report::new(e)),
    };
    let r_fresh = match build_report(&fresh, 0) {
        Ok(r) => r,
        Err(e) => panic!("the report of nginx from a fresh store: {e:?}"),
    };
    if DebianStore::index_loads() != after_report + 1 {
        failures.push(format!(
            "a fresh store loaded the indices {} times, expected once",
            DebianStore::index_loads() - after_report
        ));
    }
    if r_fresh.totals != r.totals {
        failures.push(format!(
            "docker-build numbers differ: {:?} from the build's store, {:?} from a fresh one",
            r.totals, r_fresh.totals
        ));
    }
    if report::to_json(&r_fresh) != report::to_json(&r) {
        failures.push("the report from a fresh store differs from the build's".into());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
