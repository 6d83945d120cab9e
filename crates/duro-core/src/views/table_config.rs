//! Merging a table's config: the settings of `global.conf`, the schema configs and the table
//! configs in that order (later wins), remembering the file each value came from.

use super::conf_file::{GrantChange, Setting};
use crate::catalog::TableConfig;
use std::collections::BTreeSet;

/// Merges layers of settings, lowest precedence first: `(file, settings)` pairs.
pub fn merge<'a>(layers: impl IntoIterator<Item = (&'a str, &'a [Setting])>) -> TableConfig {
    let mut config = TableConfig::default();
    let mut grants: BTreeSet<String> = BTreeSet::new();
    for (file, settings) in layers {
        for setting in settings {
            config.sources.insert(setting.key().name().to_owned(), file.to_owned());
            match setting {
                Setting::GrantSelect(GrantChange::Replace(names)) => {
                    grants = names.iter().cloned().collect()
                }
                Setting::GrantSelect(GrantChange::Modify { add, remove }) => {
                    grants.extend(add.iter().cloned());
                    for name in remove {
                        grants.remove(name);
                    }
                }
                Setting::Distkey(value) => config.distkey = value.clone(),
                Setting::Sortkey(value) => config.sortkey = value.clone(),
                Setting::Diststyle(value) => config.diststyle = value.clone(),
                Setting::SnapshotsInterval(value) => config.snapshots_interval_minutes = *value,
                Setting::SnapshotsStoredFor(value) => config.snapshots_stored_for_minutes = *value,
                Setting::Timeout(value) => config.timeout_seconds = *value,
                Setting::ProcessorTimeout(value) => config.processor_timeout_seconds = *value,
                Setting::OnUpstreamFailure(value) => config.on_upstream_failure = *value,
                Setting::ProcessorCsvDelimiter(value) => config.processor_csv_delimiter = *value,
                Setting::SkipUnchanged(value) => config.skip_unchanged = *value,
                Setting::MinRows(value) => config.min_rows = *value,
                Setting::MaxRowDrop(value) => config.max_row_drop_percent = *value,
                Setting::MaxCost(value) => config.max_cost = *value,
                Setting::Indexes(value) => config.indexes = value.clone(),
                Setting::Analyze(value) => config.analyze = *value,
            }
        }
    }
    config.grant_select = grants.into_iter().collect();
    config
}

#[cfg(test)]
mod tests {
    use super::super::conf_file::parse_conf;
    use super::*;

    /// Merges `.conf` texts given as (file, text), lowest precedence first.
    fn merged(layers: &[(&str, &str)]) -> TableConfig {
        let parsed: Vec<(&str, Vec<Setting>)> = layers
            .iter()
            .map(|(file, text)| {
                let conf = parse_conf(text);
                assert!(conf.problems.is_empty(), "{file}: {:?}", conf.problems);
                (*file, conf.settings)
            })
            .collect();
        merge(parsed.iter().map(|(file, settings)| (*file, settings.as_slice())))
    }

    fn grants(layers: &[&str]) -> Vec<String> {
        let named: Vec<(&str, &str)> = layers.iter().map(|text| ("x.conf", *text)).collect();
        merged(&named).grant_select
    }

    /// Regression (README's Metabase example): `+=`/`-=` modify the inherited list.
    #[test]
    fn readme_grant_inheritance() {
        let global = "grant_select=metabase";
        assert_eq!(grants(&[global]), ["metabase"]);
        assert_eq!(grants(&[global, "grant_select-=metabase"]), Vec::<String>::new());
        assert_eq!(
            grants(&[global, "grant_select-=metabase", "grant_select+=metabase"]),
            ["metabase"]
        );
    }

    #[test]
    fn grant_table() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["grant_select=jane, john"], &["jane", "john"]),
            (&["grant_select=john, jane", "grant_select=joan"], &["joan"]),
            (&["grant_select=jane, john", "grant_select=-jane, +joan"], &["joan", "john"]),
            // Regression: signed values with no base list crashed the original.
            (&["grant_select=+joan"], &["joan"]),
            (&["grant_select-=joan"], &[]),
            // Regression: `null` granted to a user named `null`; now it resets.
            (&["grant_select=jane", "grant_select=null"], &[]),
            (&["grant_select=jane", "grant_select=null", "grant_select+=john"], &["john"]),
            (&["grant_select=jane", "grant_select+=jane"], &["jane"]),
            (&["grant_select=group analysts"], &["group analysts"]),
            (&["distkey=a"], &[]),
        ];
        for (layers, expected) in cases {
            assert_eq!(grants(layers), *expected, "{layers:?}");
        }
    }

    #[test]
    fn later_layers_win_and_null_resets() {
        let config = merged(&[
            ("global.conf", "sortkey=id\ndiststyle=even\nsnapshots_interval=1d"),
            ("first.conf", "sortkey=null"),
            ("first/cities.conf", "distkey=city\ndiststyle=key"),
        ]);
        assert_eq!(config.sortkey, Vec::<String>::new());
        assert_eq!(config.distkey.as_deref(), Some("city"));
        assert_eq!(config.diststyle.as_deref(), Some("key"));
        assert_eq!(config.snapshots_interval_minutes, Some(1_440));
        assert_eq!(config.sources["sortkey"], "first.conf");
        assert_eq!(config.sources["diststyle"], "first/cities.conf");
        assert_eq!(config.sources["snapshots_interval"], "global.conf");
    }

    #[test]
    fn empty_config_is_default() {
        assert_eq!(merged(&[]), TableConfig::default());
    }
}
