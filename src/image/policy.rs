//! The layering policy: which store paths (units) share a layer.
//!
//! - While every unit fits (`units + other_layers <= max_layers`), each unit
//!   has its own layer.
//! - Beyond that, "large-first": units are ranked by size (largest first,
//!   ties by name). The top `k` keep their own layers; every other unit goes
//!   to the group of units that exactly the same set of top-`k` units reach
//!   through dependency edges (transitively, through any unit). Units no
//!   top-`k` unit reaches form one last group. `k` is the largest value for
//!   which `k + groups <= max_layers - other_layers`; `k = 0` (one group
//!   holding everything) always fits a budget of one.
//! - Output order: own layers by rank, then groups ordered by the ranks of
//!   the large units that reach them (lexicographically), the unclaimed
//!   group last. Members are sorted by name. The order never depends on the
//!   order of the input slice.
//! - Edges to names not among the units are ignored (the caller may have
//!   pruned those store paths); duplicate unit names are an error.
//!
//! COPY and synthesized layers are not units: they are counted in
//! `other_layers`, and the caller places COPY layers after all of these.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::ImageError;

/// The default `--max-layers`, counting synthesized and COPY layers.
pub const DEFAULT_MAX_LAYERS: usize = 100;

/// A unit of content (a store path) and what it needs at run time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerUnit {
    pub name: String,
    /// Bytes it adds to the image (uncompressed file bytes).
    pub size: u64,
    /// Names of the units it depends on.
    pub depends_on: Vec<String>,
}

/// Why a layer holds what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupReason {
    /// A unit with its own layer.
    Own,
    /// Units reached from exactly these large units (names, by rank).
    SharedBy(Vec<String>),
    /// Units no large unit reaches.
    Unclaimed,
}

/// One layer of units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerGroup {
    /// Unit names, sorted.
    pub members: Vec<String>,
    pub reason: GroupReason,
}

/// Group `units` into at most `max_layers - other_layers` layers.
pub fn plan_layers(
    units: &[LayerUnit],
    other_layers: usize,
    max_layers: usize,
) -> Result<Vec<LayerGroup>, ImageError> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(units.len());
    for (i, u) in units.iter().enumerate() {
        if index.insert(u.name.as_str(), i).is_some() {
            return Err(ImageError::Layering(format!(
                "unit {:?} is listed twice",
                u.name
            )));
        }
    }
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let budget = max_layers.saturating_sub(other_layers);
    if budget == 0 {
        return Err(ImageError::Layering(format!(
            "max layers {max_layers} leaves no layer for {} store paths after {other_layers} other layers",
            units.len()
        )));
    }

    // Rank: size descending, name ascending.
    let mut ranked: Vec<usize> = (0..units.len()).collect();
    ranked.sort_by(|&a, &b| {
        units[b]
            .size
            .cmp(&units[a].size)
            .then_with(|| units[a].name.cmp(&units[b].name))
    });
    let own = |ids: &[usize]| -> Vec<LayerGroup> {
        ids.iter()
            .map(|&i| LayerGroup {
                members: vec![units[i].name.clone()],
                reason: GroupReason::Own,
            })
            .collect()
    };
    if units.len() <= budget {
        return Ok(own(&ranked));
    }

    // Edges as indices, sorted and deduplicated (unknown names ignored).
    let edges: Vec<Vec<usize>> = units
        .iter()
        .map(|u| {
            let set: BTreeSet<usize> = u
                .depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect();
            set.into_iter().collect()
        })
        .collect();

    // reached_by[u]: ranks r < budget whose unit reaches u (u itself excluded).
    let candidates = budget.min(units.len());
    let mut reached_by: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    let mut seen = vec![usize::MAX; units.len()];
    for (r, &start) in ranked.iter().take(candidates).enumerate() {
        let mut stack = vec![start];
        seen[start] = r;
        while let Some(u) = stack.pop() {
            for &d in &edges[u] {
                if seen[d] != r {
                    seen[d] = r;
                    if d != start {
                        reached_by[d].push(r);
                    }
                    stack.push(d);
                }
            }
        }
    }
    // Ranks were visited in increasing order, so each list is sorted.

    for k in (0..budget.min(units.len())).rev() {
        let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
        for &u in &ranked[k..] {
            let key: Vec<usize> = reached_by[u].iter().copied().filter(|&r| r < k).collect();
            groups.entry(key).or_default().push(u);
        }
        if k + groups.len() > budget {
            continue;
        }
        let mut out = own(&ranked[..k]);
        let mut unclaimed = None;
        for (key, mut members) in groups {
            members.sort_by(|&a, &b| units[a].name.cmp(&units[b].name));
            let names = members.iter().map(|&m| units[m].name.clone()).collect();
            if key.is_empty() {
                unclaimed = Some(LayerGroup {
                    members: names,
                    reason: GroupReason::Unclaimed,
                });
            } else {
                out.push(LayerGroup {
                    members: names,
                    reason: GroupReason::SharedBy(
                        key.iter().map(|&r| units[ranked[r]].name.clone()).collect(),
                    ),
                });
            }
        }
        out.extend(unclaimed);
        return Ok(out);
    }
    // Unreachable: k = 0 gives one group, and budget >= 1.
    Err(ImageError::Layering(
        "no grouping fits the layer budget".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str, size: u64, deps: &[&str]) -> LayerUnit {
        LayerUnit {
            name: name.into(),
            size,
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn names(groups: &[LayerGroup]) -> Vec<Vec<&str>> {
        groups
            .iter()
            .map(|g| g.members.iter().map(String::as_str).collect())
            .collect()
    }

    fn sample() -> Vec<LayerUnit> {
        vec![
            unit("app", 500, &["libssl", "libc", "libz"]),
            unit("python", 400, &["libc", "libz", "libffi"]),
            unit("libssl", 50, &["libc"]),
            unit("libc", 30, &[]),
            unit("libz", 5, &["libc"]),
            unit("libffi", 3, &["libc"]),
            unit("tzdata", 2, &[]),
        ]
    }

    #[test]
    fn one_layer_each_while_under_budget() {
        let g = plan_layers(&sample(), 3, 10).unwrap();
        assert_eq!(
            names(&g),
            [
                vec!["app"],
                vec!["python"],
                vec!["libssl"],
                vec!["libc"],
                vec!["libz"],
                vec!["libffi"],
                vec!["tzdata"]
            ]
        );
        assert!(g.iter().all(|g| g.reason == GroupReason::Own));
    }

    #[test]
    fn large_first_grouping_by_dependents() {
        // Budget 6 - 2 = 4 for 7 units. k=3 (app, python, libssl) leaves 4
        // distinct groups (7 layers), k=2 leaves 4 (6 layers); k=1 leaves
        // {libc, libssl, libz} (reached by app) and the unclaimed rest: 3.
        let g = plan_layers(&sample(), 2, 6).unwrap();
        assert_eq!(
            names(&g),
            [
                vec!["app"],
                vec!["libc", "libssl", "libz"],
                vec!["libffi", "python", "tzdata"]
            ]
        );
        assert_eq!(g[0].reason, GroupReason::Own);
        assert_eq!(g[1].reason, GroupReason::SharedBy(vec!["app".into()]));
        assert_eq!(g[2].reason, GroupReason::Unclaimed);
    }

    #[test]
    fn groups_by_the_set_of_large_dependents() {
        // Budget 6 for 7 units: k=5..3 need 7 layers; k=2 (app, python)
        // gives {libssl} (app), {libc, libz} (app+python), {libffi}
        // (python), {tzdata} (none): 2 + 4 = 6.
        let g = plan_layers(&sample(), 0, 6).unwrap();
        assert_eq!(
            names(&g),
            [
                vec!["app"],
                vec!["python"],
                vec!["libssl"],
                vec!["libc", "libz"],
                vec!["libffi"],
                vec!["tzdata"]
            ]
        );
        assert_eq!(
            g[3].reason,
            GroupReason::SharedBy(vec!["app".into(), "python".into()])
        );
        assert_eq!(g[4].reason, GroupReason::SharedBy(vec!["python".into()]));
    }

    #[test]
    fn input_order_does_not_matter_and_ties_break_by_name() {
        let mut units = sample();
        units.push(unit("aaa", 5, &[]));
        let a = plan_layers(&units, 0, 4).unwrap();
        units.reverse();
        let b = plan_layers(&units, 0, 4).unwrap();
        assert_eq!(a, b);
        let one = plan_layers(&units, 0, 100).unwrap();
        let pos = |n: &str| one.iter().position(|g| g.members == [n]).unwrap();
        assert!(pos("aaa") < pos("libz"), "equal sizes order by name");
    }

    #[test]
    fn budget_edge_cases() {
        assert!(plan_layers(&sample(), 5, 5).is_err(), "no room");
        let g = plan_layers(&sample(), 4, 5).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].members.len(), 7);
        assert!(plan_layers(&[], 5, 5).unwrap().is_empty());
        let dup = vec![unit("a", 1, &[]), unit("a", 2, &[])];
        assert!(plan_layers(&dup, 0, 10).is_err());
        // Unknown dependency names and cycles are harmless.
        let cyc = vec![
            unit("a", 10, &["b", "ghost"]),
            unit("b", 5, &["a"]),
            unit("c", 1, &["b"]),
        ];
        // k=1 gives a, {b} (reached by a), {c} = 3 > 2; so k=0.
        let g = plan_layers(&cyc, 0, 2).unwrap();
        assert_eq!(names(&g), [vec!["a", "b", "c"]]);
        let g = plan_layers(&cyc, 0, 3).unwrap();
        assert_eq!(names(&g), [vec!["a"], vec!["b"], vec!["c"]]);
    }

    #[test]
    fn every_unit_placed_once_within_budget() {
        // A generated graph: a chain with fan-out, checked for many budgets.
        let units: Vec<LayerUnit> = (0..60)
            .map(|i| {
                let deps: Vec<String> = [(i * 7 + 3) % 60, (i * 13 + 1) % 60, i / 2]
                    .iter()
                    .filter(|&&d| d != i)
                    .map(|d| format!("u{d:02}"))
                    .collect();
                LayerUnit {
                    name: format!("u{i:02}"),
                    size: (i as u64 * 7919) % 1000,
                    depends_on: deps,
                }
            })
            .collect();
        let mut failures = Vec::new();
        for budget in 1..=61 {
            let g = plan_layers(&units, 0, budget).unwrap();
            let mut placed: Vec<&str> = g
                .iter()
                .flat_map(|x| x.members.iter().map(String::as_str))
                .collect();
            placed.sort();
            let before = placed.len();
            placed.dedup();
            if g.len() > budget || before != 60 || placed.len() != 60 {
                failures.push(format!(
                    "budget {budget}: {} layers, {before} placements",
                    g.len()
                ));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
