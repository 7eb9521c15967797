//! The countermeasure map (defence layers × NIST CSF 2.0 functions) from the controls the team
//! registered, with the Detect column also computed from what runs: enabled rules per layer,
//! rules that fired in the last 30 days, and the sources that sent events. Also the
//! detection coverage as a MITRE ATT&CK Navigator layer.

use crate::error::AppResult;
use crate::App;
use hikeshi_model::reporting::{layer_of_logsource, CsfFunction, DefenceLayer};
use hikeshi_store::{Control, SourceActivity};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// How well a cell is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    None,
    Planned,
    Partial,
    Covered,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub layer: DefenceLayer,
    pub function: CsfFunction,
    pub coverage: Coverage,
    pub controls: Vec<Control>,
}

/// What the running system shows for one layer's detection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DetectData {
    pub rules_enabled: usize,
    pub rules_fired_30d: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub layer: DefenceLayer,
    pub function: CsfFunction,
    /// `no_control`, `planned_only`, `ineffective` or `no_detection_data`.
    pub reason: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoverageMap {
    pub cells: Vec<Cell>,
    pub detect: BTreeMap<String, DetectData>,
    /// Sources that sent events in the last 7 days.
    pub active_sources: Vec<SourceActivity>,
    pub gaps: Vec<Gap>,
}

const ACTIVE_WINDOW_MS: i64 = 7 * 86_400_000;
const FIRED_WINDOW_MS: i64 = 30 * 86_400_000;

fn cell_coverage(controls: &[Control]) -> Coverage {
    let has = |e: &str| controls.iter().any(|c| c.effectiveness == e);
    if has("effective") {
        Coverage::Covered
    } else if has("partial") {
        Coverage::Partial
    } else if has("planned") {
        Coverage::Planned
    } else {
        Coverage::None
    }
}

/// Enabled rules as (rule id or title, layer, ATT&CK tags).
fn enabled_rules(app: &App) -> Vec<(String, Option<DefenceLayer>, Vec<String>)> {
    let Some(live) = &app.live else {
        return Vec::new();
    };
    let engine = live.engine();
    engine
        .detector
        .rules
        .iter()
        .map(|r| {
            let ls = &r.logsource;
            let layer = layer_of_logsource(
                ls.product.as_deref().unwrap_or(""),
                ls.category.as_deref().unwrap_or(""),
                ls.service.as_deref().unwrap_or(""),
            );
            (
                r.id.clone().unwrap_or_else(|| r.title.clone()),
                layer,
                r.tags.clone(),
            )
        })
        .collect()
}

pub async fn coverage_map(app: &App) -> AppResult<CoverageMap> {
    let controls = app.store.controls().await?;
    let now = hikeshi_store::now_ms();
    let rules = enabled_rules(app);
    let fired: std::collections::HashSet<String> = app
        .store
        .alert_counts_by_rule(
            (now - FIRED_WINDOW_MS).div_euclid(hikeshi_store::HOUR_MS) * hikeshi_store::HOUR_MS,
            now + hikeshi_store::HOUR_MS,
        )
        .await?
        .into_iter()
        .map(|r| r.rule_id)
        .collect();
    let mut detect: BTreeMap<String, DetectData> = BTreeMap::new();
    for (id, layer, _) in &rules {
        let Some(layer) = layer else { continue };
        let d = detect.entry(layer.code().to_string()).or_default();
        d.rules_enabled += 1;
        if fired.contains(id) {
            d.rules_fired_30d += 1;
        }
    }
    let active_sources: Vec<SourceActivity> = app
        .store
        .source_activity()
        .await?
        .into_iter()
        .filter(|s| s.last_seen >= now - ACTIVE_WINDOW_MS)
        .collect();
    let mut by_cell: HashMap<(String, String), Vec<Control>> = HashMap::new();
    for c in controls {
        by_cell
            .entry((c.layer.clone(), c.function.clone()))
            .or_default()
            .push(c);
    }
    let mut cells = Vec::new();
    let mut gaps = Vec::new();
    for layer in DefenceLayer::ALL {
        for function in CsfFunction::ALL {
            let controls = by_cell
                .remove(&(layer.code().to_string(), function.code().to_string()))
                .unwrap_or_default();
            let mut coverage = cell_coverage(&controls);
            if *function == CsfFunction::Detect {
                // What runs counts as much as what is registered: rules that fire over
                // sources that send are detection, whatever the registry says.
                let data = detect.get(layer.code());
                let running =
                    data.is_some_and(|d| d.rules_enabled > 0) && !active_sources.is_empty();
                let firing = data.is_some_and(|d| d.rules_fired_30d > 0);
                coverage = match (coverage, running, firing) {
                    (_, true, true) => Coverage::Covered,
                    (Coverage::None | Coverage::Planned, true, false) => Coverage::Partial,
                    (c, _, _) => c,
                };
                if data.is_some_and(|d| d.rules_enabled > 0) && !running {
                    gaps.push(Gap {
                        layer: *layer,
                        function: *function,
                        reason: "no_detection_data",
                    });
                }
            }
            let reason = match coverage {
                Coverage::None if controls.iter().any(|c| c.effectiveness == "ineffective") => {
                    Some("ineffective")
                }
                Coverage::None => Some("no_control"),
                Coverage::Planned => Some("planned_only"),
                _ => None,
            };
            if let Some(reason) = reason {
                gaps.push(Gap {
                    layer: *layer,
                    function: *function,
                    reason,
                });
            }
            cells.push(Cell {
                layer: *layer,
                function: *function,
                coverage,
                controls,
            });
        }
    }
    Ok(CoverageMap {
        cells,
        detect,
        active_sources,
        gaps,
    })
}

/// A MITRE ATT&CK Navigator layer (format 4.5) scoring each technique by how many enabled
/// rules are tagged with it.
pub fn attack_layer(app: &App, name: &str) -> Value {
    let mut techniques: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, tags) in enabled_rules(app) {
        for tag in tags {
            let t = tag.to_ascii_lowercase();
            let Some(id) = t.strip_prefix("attack.t") else {
                continue;
            };
            if id.len() >= 4 && id.chars().take(4).all(|c| c.is_ascii_digit()) {
                *techniques
                    .entry(format!("T{}", id.to_ascii_uppercase()))
                    .or_default() += 1;
            }
        }
    }
    let max = techniques.values().copied().max().unwrap_or(1);
    let list: Vec<Value> = techniques
        .iter()
        .map(|(id, n)| {
            json!({
                "techniqueID": id,
                "score": n,
                "enabled": true,
                "comment": format!("{n} enabled rule(s)"),
            })
        })
        .collect();
    json!({
        "name": name,
        "versions": { "layer": "4.5", "navigator": "5.1.0", "attack": "16" },
        "domain": "enterprise-attack",
        "description": "Detection coverage of the Sigma rules enabled in hikeshi",
        "sorting": 3,
        "hideDisabled": false,
        "techniques": list,
        "gradient": { "colors": ["#ffe766", "#8ec843"], "minValue": 0, "maxValue": max },
        "legendItems": [],
        "metadata": [],
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
    })
}
