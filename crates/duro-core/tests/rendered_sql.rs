//! Golden tests of the SQL sent to Redshift: temporary tables with distribution and sort keys,
//! grants, the swap, bound views, snapshots, COPY and every catalog query. Each rendered statement
//! must equal its file under `tests/golden/` (set `DURO_UPDATE_GOLDEN=1` to rewrite them after a
//! deliberate change), must parse with sqlparser's Redshift dialect (the `postgres_` files, sent
//! only to PostgreSQL, with its PostgreSQL dialect), and, since that parser accepts more than
//! Redshift runs, must avoid everything on the deny-list of [`redshift_lacks`].

use duro_core::catalog::{CsvDelimiter, TableConfig};
use duro_core::config::Dialect;
use duro_core::sql::rename_table;
use duro_core::warehouse::grantee::Grantee;
use duro_core::warehouse::render::{
    self, ChainView, HISTORY_SUFFIX, OLD_SUFFIX, TEMP_SUFFIX, TableName,
};
use sqlparser::dialect::{PostgreSqlDialect, RedshiftSqlDialect};
use sqlparser::parser::Parser;
use std::path::Path;

fn golden(name: &str, statements: &[String]) {
    let text = statements.join(";\n") + ";\n";
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.sql"));
    if std::env::var_os("DURO_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(text, expected, "{name}: rendered SQL differs from {}", path.display());
    for statement in statements {
        if name.starts_with("redshift_") {
            let lacking = redshift_lacks(statement);
            assert!(lacking.is_empty(), "{name}: Redshift lacks {lacking:?}:\n{statement}");
        }
        if name.starts_with("postgres_") {
            if let Err(error) = Parser::parse_sql(&PostgreSqlDialect {}, statement) {
                panic!("{name}: does not parse with the PostgreSQL dialect: {error}\n{statement}");
            }
            continue;
        }
        if let Err(error) = Parser::parse_sql(&RedshiftSqlDialect {}, statement) {
            // Redshift documents `ALTER TABLE … OWNER TO` for tables and views; sqlparser's
            // Redshift dialect lacks that one form, so it is parsed as PostgreSQL, which has it.
            let owner_change =
                statement.starts_with("alter table ") && statement.contains(" owner to ");
            // Redshift documents `COPY … MAXERROR n`; sqlparser's Redshift dialect lacks that
            // one option, so the statement is parsed without it.
            let max_error = statement.starts_with("copy ")
                && statement.contains(" maxerror ")
                && Parser::parse_sql(&RedshiftSqlDialect {}, &without_max_error(statement)).is_ok();
            let owner_change_parses =
                owner_change && Parser::parse_sql(&PostgreSqlDialect {}, statement).is_ok();
            if !(max_error || owner_change_parses) {
                panic!("{name}: does not parse with the Redshift dialect: {error}\n{statement}");
            }
        }
    }
}

/// A `COPY` without its ` maxerror n` option.
fn without_max_error(statement: &str) -> String {
    let at = statement.find(" maxerror ").expect("checked by the caller");
    let rest = &statement[at + " maxerror ".len()..];
    let number_end = rest.find(' ').unwrap_or(rest.len());
    format!("{}{}", &statement[..at], &rest[number_end..])
}

/// The words and punctuation of a statement, lower case, string literals and comments left out.
fn tokens(sql: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // A literal ends at a quote that is not doubled.
                while let Some(c) = chars.next() {
                    if c == '\'' && chars.next_if_eq(&'\'').is_none() {
                        break;
                    }
                }
            }
            '-' if chars.next_if_eq(&'-').is_some() => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut word = c.to_lowercase().to_string();
                while let Some(c) = chars.next_if(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                {
                    word.extend(c.to_lowercase());
                }
                tokens.push(word);
            }
            ':' if chars.next_if_eq(&':').is_some() => tokens.push("::".to_owned()),
            c if c.is_whitespace() => {}
            c => tokens.push(c.to_string()),
        }
    }
    tokens
}

/// What a statement uses that Redshift lacks or runs only on the leader node (where it fails
/// next to a user table): savepoints, `current_timestamp`/`now()` and their kin, casting the
/// `relacl` array to text, `aclexplode`, `generate_series`, array constructors, indexes, and a
/// leader-node catalog relation (`pg_…`) in the same query as a system table (`stl_`, `stv_`,
/// `svl_`, `svv_`, `sys_`).
fn redshift_lacks(sql: &str) -> Vec<&'static str> {
    let tokens = tokens(sql);
    let word = |w: &str| tokens.iter().any(|t| t == w);
    let pair = |a: &str, b: &str| tokens.windows(2).any(|p| p[0] == a && p[1] == b);
    let mut lacking = Vec::new();
    let rules: [(&str, bool); 8] = [
        ("savepoint", word("savepoint")),
        (
            "current_timestamp",
            ["current_timestamp", "localtimestamp", "current_time", "timeofday"]
                .iter()
                .any(|w| word(w)),
        ),
        ("now()", pair("now", "(")),
        ("an array cast to text", tokens.windows(2).any(|p| p[0].ends_with("acl") && p[1] == "::")),
        ("aclexplode", word("aclexplode")),
        ("generate_series", word("generate_series")),
        ("an array constructor", pair("array", "[")),
        (
            "create index",
            pair("create", "index")
                || tokens
                    .windows(3)
                    .any(|p| p[0] == "create" && p[1] == "unique" && p[2] == "index"),
        ),
    ];
    for (what, found) in rules {
        if found {
            lacking.push(what);
        }
    }
    let relation = |prefixes: &[&str]| {
        tokens.windows(2).any(|p| prefixes.iter().any(|x| p[0].starts_with(x)) && p[1] != "(")
            || tokens.last().is_some_and(|t| prefixes.iter().any(|x| t.starts_with(x)))
    };
    if relation(&["pg_"]) && relation(&["stl_", "stv_", "svl_", "svv_", "sys_"]) {
        lacking.push("pg_ catalog and system tables in one query");
    }
    lacking
}

/// Each rule of the deny-list fires on what it names, and not on what Redshift runs.
#[test]
fn the_deny_list_catches_what_redshift_lacks() {
    let cases: &[(&str, &[&str])] = &[
        ("savepoint duro_swap", &["savepoint"]),
        ("insert into h select *, current_timestamp from t", &["current_timestamp"]),
        ("select NOW() from t", &["now()"]),
        ("select c.relacl::text from pg_class c", &["an array cast to text"]),
        ("select aclexplode(relacl) from pg_class", &["aclexplode"]),
        ("select * from generate_series(1, 3)", &["generate_series"]),
        ("select array[1, 2]", &["an array constructor"]),
        ("create index i on t (a)", &["create index"]),
        ("CREATE UNIQUE INDEX i on t (a)", &["create index"]),
        (
            "select * from stv_sessions s join pg_user u on u.usesysid = s.user_name",
            &["pg_ catalog and system tables in one query"],
        ),
        // What Redshift runs.
        ("select process from stv_sessions where process <> pg_backend_pid()", &[]),
        ("select array_to_string(c.relacl, ',') from pg_class c", &[]),
        ("insert into h select *, getdate() from t", &[]),
        ("select 'current_timestamp' as text, now_or_never from t -- now()", &[]),
        ("select datediff(minute, max(\"snapshot_timestamp\"), getdate()) from h", &[]),
    ];
    for (sql, expected) in cases {
        assert_eq!(redshift_lacks(sql), *expected, "{sql}");
    }
}

fn cities() -> TableName {
    TableName::parse("first.cities").unwrap()
}

#[test]
fn temp_table_with_keys() {
    let config = TableConfig {
        distkey: Some("city".into()),
        sortkey: vec!["country".into(), "city".into()],
        diststyle: Some("even".into()),
        ..TableConfig::default()
    };
    let temp = cities().with_suffix(TEMP_SUFFIX, Dialect::Redshift).unwrap();
    let query = "select city, country\nfrom first.cities_raw -- the raw data";
    golden(
        "redshift_temp_table_keys",
        &[
            render::drop_table_if_exists(&temp),
            render::create_temp_table(Dialect::Redshift, &temp, query, &config),
        ],
    );
    let style_only = TableConfig { diststyle: Some("all".into()), ..TableConfig::default() };
    golden(
        "redshift_temp_table_diststyle",
        &[
            render::drop_table_if_exists(&temp),
            render::create_temp_table(Dialect::Redshift, &temp, "select 1 as x", &style_only),
        ],
    );
    golden(
        "postgres_temp_table",
        &[
            render::drop_table_if_exists(&temp),
            render::create_temp_table(Dialect::Postgres, &temp, query, &config),
        ],
    );
}

/// A processor table's DDL gets the `.conf`'s keys on Redshift (as the original Duro appended
/// them), and nothing on PostgreSQL.
#[test]
fn processor_table_with_keys() {
    let config = TableConfig {
        distkey: Some("country".into()),
        sortkey: vec!["country".into(), "capital".into()],
        ..TableConfig::default()
    };
    let ddl = "create table first.\"countries_duro_temp\" (\n  country varchar(100),\n  capital varchar(100)\n);\n";
    golden(
        "redshift_processor_table_keys",
        &[render::processor_create_table(Dialect::Redshift, ddl, &config)],
    );
    assert_eq!(
        render::processor_create_table(Dialect::Postgres, ddl, &config),
        ddl.trim_end().trim_end_matches(';')
    );
}

#[test]
fn grants_and_swap() {
    let live = cities();
    let temp = live.with_suffix(TEMP_SUFFIX, Dialect::Redshift).unwrap();
    let old = live.with_suffix(OLD_SUFFIX, Dialect::Redshift).unwrap();
    let mut statements = render::swap(&live, &temp, &old, true);
    let grantees = ["group analysts", "jane", "metabase", "data-team"].map(Grantee::from_config);
    statements.extend(render::grants(&live, &grantees));
    golden("redshift_swap_and_grants", &statements);
    golden("redshift_first_swap", &render::swap(&live, &temp, &old, false));
}

/// The guards of a build: the plan asked for before anything is created (`max_cost`), and the
/// statistics refreshed before the swap (`analyze=true`, which Redshift only runs when set).
/// On PostgreSQL, the indexes of `indexes=`, created under temporary names and renamed in the
/// swap's transaction.
#[test]
fn build_guards() {
    let live = cities();
    let temp = live.with_suffix(TEMP_SUFFIX, Dialect::Redshift).unwrap();
    golden(
        "redshift_build_guards",
        &[render::explain("select city, country from first.cities_raw;\n"), render::analyze(&temp)],
    );
    // Repository text that is not a query stays inside the parentheses: never `explain analyze`.
    let hostile = render::explain("analyze delete from first.cities");
    assert_eq!(
        hostile,
        "explain select * from (\nanalyze delete from first.cities\n) as duro_explain"
    );
    assert!(Parser::parse_sql(&PostgreSqlDialect {}, &hostile).is_err(), "{hostile}");
    let indexes =
        duro_core::catalog::indexes::parse_indexes("(country), unique (city, country)").unwrap();
    let mut statements = duro_core::warehouse::indexes::create_indexes(&live, &temp, &indexes);
    statements.extend(duro_core::warehouse::indexes::rename_indexes(&live, &indexes));
    golden("postgres_indexes", &statements);
}

/// A chain of views on the live table: `reports.capitals` reads it, `reports.capital_count`
/// reads that view. Same columns: the first is replaced in place. Other columns: the chain is
/// dropped and re-created in order, each view given back to its owner with its grants. No
/// savepoints (Redshift has none).
#[test]
fn bound_views() {
    let capitals = TableName::parse("reports.capitals").unwrap();
    let count = TableName::parse("reports.capital_count").unwrap();
    let definition = " SELECT cities.city,\n    cities.country\n   FROM first.cities\n  WHERE cities.country::text <> 'France'::text;";
    let pointed = rename_table(definition, "first", "cities", "cities_duro_temp").unwrap();
    let readers = [Grantee::from_config("group bi"), Grantee::from_config("data-team")];
    let chain = [
        ChainView {
            view: &capitals,
            definition: pointed,
            owner: "analyst",
            grantees: &readers,
            reads_live: true,
        },
        ChainView {
            view: &count,
            definition: " SELECT count(*) AS count\n   FROM reports.capitals;".into(),
            owner: "evil\"owner",
            grantees: &[],
            reads_live: false,
        },
    ];
    let sql = |statements: Vec<render::SwapStatement>| -> Vec<String> {
        statements.into_iter().map(|s| s.sql).collect()
    };
    golden("redshift_bound_view", &sql(render::repoint_views(&chain, true)));
    golden("redshift_bound_view_chain_recreated", &sql(render::repoint_views(&chain, false)));
    let sent_alone: Vec<bool> =
        render::repoint_views(&chain, false).iter().map(|s| s.alone).collect();
    assert_eq!(
        sent_alone,
        [false, false, true, false, false, false, true, false],
        "only the view definitions (text read from the warehouse) are sent alone"
    );
}

#[test]
fn snapshots() {
    let live = cities();
    let history = live.with_suffix(HISTORY_SUFFIX, Dialect::Redshift).unwrap();
    golden(
        "redshift_snapshots",
        &[
            render::create_history(Dialect::Redshift, &history, &live),
            render::add_history_column(&history, "population", "integer"),
            render::newest_snapshot_age_minutes(Dialect::Redshift, &history),
            render::insert_snapshot(
                Dialect::Redshift,
                &history,
                &live,
                &["city".into(), "country".into()],
            ),
            render::delete_old_snapshots(Dialect::Redshift, &history),
        ],
    );
}

#[test]
fn copy_from_s3() {
    let temp = TableName::parse("first.countries_duro_temp").unwrap();
    let url = "s3://duro-staging/duro/first.countries/1764087000000-3.csv";
    let role = render::CopyCredentials::IamRole("arn:aws:iam::123456789012:role/duro-copy".into());
    let (with_role, role_redacted) =
        render::copy_from_s3(&temp, url, &role, Some("eu-west-1"), CsvDelimiter::Comma);
    assert_eq!(with_role, role_redacted, "an IAM role is no secret");
    let keys = render::CopyCredentials::Keys {
        access_key_id: "AKIAEXAMPLE".into(),
        secret_access_key: "s3cr3t'key".into(),
        session_token: None,
    };
    let (with_keys, keys_redacted) =
        render::copy_from_s3(&temp, url, &keys, None, CsvDelimiter::Comma);
    assert!(
        with_keys.contains("aws_secret_access_key=s3cr3t''key'"),
        "the secret is inside a quoted literal: {with_keys}"
    );
    assert!(!keys_redacted.contains("s3cr3t"), "{keys_redacted}");
    let temporary = render::CopyCredentials::Keys {
        access_key_id: "ASIAEXAMPLE".into(),
        secret_access_key: "s3cr3t".into(),
        session_token: Some("t0ken".into()),
    };
    let (with_token, token_redacted) =
        render::copy_from_s3(&temp, url, &temporary, None, CsvDelimiter::Comma);
    assert!(with_token.contains("aws_secret_access_key=s3cr3t;token=t0ken'"), "{with_token}");
    assert!(!token_redacted.contains("s3cr3t") && !token_redacted.contains("t0ken"));
    // `processor_csv_delimiter`: semicolon and tab.
    let delimited = [CsvDelimiter::Semicolon, CsvDelimiter::Tab]
        .map(|delimiter| render::copy_from_s3(&temp, url, &role, None, delimiter).0);
    golden("redshift_copy_iam_role", &[&[with_role][..], &delimited].concat());
    golden("redshift_copy_keys_redacted", &[keys_redacted, token_redacted]);
}

/// A processor's output into PostgreSQL, with each `processor_csv_delimiter`.
#[test]
fn copy_from_stdin() {
    let temp = TableName::parse("first.countries_duro_temp").unwrap();
    let statements = CsvDelimiter::ALL.map(|delimiter| render::copy_from_stdin(&temp, delimiter));
    golden("postgres_copy_from_stdin", &statements);
}

/// `processors.export: unload`: the select inside a string literal, where Redshift reads a
/// backslash as an escape, so both `\` and `'` are doubled; a trailing comment cannot swallow
/// the end of the subquery.
#[test]
fn unload_to_s3() {
    let select =
        "select city, 'it''s' as quote, '\\d+' as pattern\nfrom first.cities -- the cities";
    let role =
        render::CopyCredentials::IamRole("arn:aws:iam::123456789012:role/duro-unload".into());
    let prefix = "s3://duro-staging/duro/first.countries/1764087000000-3-input-";
    let (with_role, redacted) =
        render::unload_to_s3(select, prefix, &role, Some("eu-west-1"), CsvDelimiter::Comma);
    assert_eq!(with_role, redacted, "an IAM role is no secret");
    assert!(with_role.contains("'it''''s'"), "{with_role}");
    assert!(with_role.contains(r"''\\d+''"), "{with_role}");
    assert!(with_role.contains("-- the cities\n) as duro_export"), "{with_role}");
    let keys = render::CopyCredentials::Keys {
        access_key_id: "AKIAEXAMPLE".into(),
        secret_access_key: "s3cr3t".into(),
        session_token: None,
    };
    let (_, keys_redacted) =
        render::unload_to_s3("select 1;", prefix, &keys, None, CsvDelimiter::Comma);
    assert!(!keys_redacted.contains("s3cr3t"), "{keys_redacted}");
    let (semicolon, _) =
        render::unload_to_s3("select 1", prefix, &role, None, CsvDelimiter::Semicolon);
    golden("redshift_unload", &[with_role, keys_redacted, semicolon]);
}

/// The fixed statements added for hardening, as Redshift gets them: whether the user may give a
/// re-created view back to its owner, the sessions of a stopped creator and ending them, the
/// type probes prepared at connection time, and the read-only transaction of the data tests.
#[test]
fn sessions_owners_and_probes() {
    use duro_core::warehouse::{catalog, sessions, statement};
    let mut statements = vec![
        catalog::can_act_as_query(Dialect::Redshift).to_owned(),
        sessions::REDSHIFT_SESSIONS_LOGGED.to_owned(),
        sessions::REDSHIFT_OPEN_SESSIONS.to_owned(),
        sessions::TERMINATE_SESSION.to_owned(),
    ];
    statements.extend(statement::type_probes());
    statements.push(duro_core::refresh::BEGIN_READ_ONLY.to_owned());
    golden("redshift_sessions_owners_probes", &statements);
}

/// Every catalog query and fixed statement of a build, as Redshift gets them (the deny-list
/// applies to these too).
#[test]
fn catalog_queries_and_build_statements() {
    use duro_core::warehouse::catalog;
    let mut statements: Vec<String> =
        catalog::all_queries(Dialect::Redshift).into_iter().map(str::to_owned).collect();
    statements.extend([
        render::set_statement_timeout(3_600_000),
        render::count_rows(&cities()),
        render::declare_export_cursor("select city from first.cities"),
        render::fetch_export(1000),
        render::CLOSE_EXPORT.to_owned(),
    ]);
    statements.extend(render::BEGIN_SWAP.split("; ").map(str::to_owned));
    statements.push(render::ROLLBACK.to_owned());
    golden("redshift_catalog_queries", &statements);
    let probe = TableName::parse("first.duro_probe_42").unwrap();
    golden(
        "redshift_probes",
        &[
            render::SERVER_VERSION.to_owned(),
            render::create_probe_table(&probe),
            render::select_probe(&probe),
            render::drop_view_if_exists(&probe),
        ],
    );
}

/// A replication node into Redshift: its files loaded from the run's prefix with the `copy`
/// options (defaults, then every flag turned around, keys redacted), the stage and the merge,
/// the identity range delete with bound values, the reload's delete, the deleted keys' table,
/// the sort-key lookup and each `VACUUM` (`auto` by the sort key), then statistics.
#[test]
fn replication_statements() {
    use duro_core::catalog::replication::{CopyOptions, FileFormat, Vacuum};
    use duro_core::replication::render as replication;
    let users = TableName::parse("analytics.users").unwrap();
    let columns = vec!["id".to_owned(), "email".to_owned(), "updated_at".to_owned()];
    let url = "s3://duro-staging/duro/replication/analytics.users/42/";
    let role = render::CopyCredentials::IamRole("arn:aws:iam::123456789012:role/duro-copy".into());
    let (defaults, defaults_redacted) = replication::copy_from_s3(
        replication::STAGE,
        &columns,
        url,
        &role,
        Some("eu-west-1"),
        FileFormat::CsvGz,
        &CopyOptions::default(),
    );
    assert_eq!(defaults, defaults_redacted, "an IAM role is no secret");
    let turned = CopyOptions {
        max_errors: 10,
        truncate_columns: false,
        accept_inv_chars: false,
        empty_as_null: true,
        stat_update: false,
    };
    let keys = render::CopyCredentials::Keys {
        access_key_id: "AKIAEXAMPLE".into(),
        secret_access_key: "s3cr3t".into(),
        session_token: None,
    };
    let (with_keys, keys_redacted) = replication::copy_from_s3(
        &users.quoted(),
        &columns,
        url,
        &keys,
        None,
        FileFormat::Csv,
        &turned,
    );
    assert!(with_keys.contains("s3cr3t") && !keys_redacted.contains("s3cr3t"));
    let key = vec!["id".to_owned()];
    // The deleted keys, through a file beside the run's, every option off.
    let (deleted_keys, _) = replication::copy_from_s3(
        replication::DELETED_KEYS,
        &key,
        "s3://duro-staging/duro/replication/analytics.users/42-deleted/",
        &role,
        None,
        FileFormat::Csv,
        &CopyOptions {
            max_errors: 0,
            truncate_columns: false,
            accept_inv_chars: false,
            empty_as_null: false,
            stat_update: false,
        },
    );
    let vacuums =
        [Vacuum::Auto, Vacuum::Full, Vacuum::Reindex, Vacuum::DeleteOnly, Vacuum::SortOnly];
    let mut statements = vec![
        defaults,
        keys_redacted,
        replication::drop_stage(),
        replication::create_stage(&users),
        replication::delete_matching(&users, &key, replication::STAGE),
        replication::insert_staged(&users, &columns),
        replication::delete_range(&users, "id", "bigint"),
        replication::delete_all(&users),
        replication::create_like(&TableName::parse("analytics.users_duro_temp").unwrap(), &users),
        replication::create_deleted_keys(&users, &key),
        deleted_keys,
        replication::delete_matching(&users, &key, replication::DELETED_KEYS),
        replication::drop_deleted_keys(),
        replication::SORT_KEY.to_owned(),
    ];
    for (vacuum, sort_key) in [(Vacuum::Auto, Some("INTERLEAVED")), (Vacuum::Auto, Some("id"))]
        .into_iter()
        .chain(vacuums.into_iter().map(|v| (v, None)))
    {
        statements.push(replication::redshift_vacuum(&users, vacuum, sort_key).unwrap());
    }
    assert_eq!(replication::redshift_vacuum(&users, Vacuum::None, None), None);
    statements.push(render::analyze(&users));
    golden("redshift_replication", &statements);
    golden(
        "postgres_replication",
        &[
            replication::copy_from_stdin(replication::STAGE, &columns),
            replication::postgres_vacuum(&users),
        ],
    );
}

/// An S3 load node's statements: the table created with its columns' keys (or the `.conf`'s),
/// a column added, the newest data date, the period deleted, and `COPY` of one object as JSON,
/// through a JSONPaths file, as CSV, and through a manifest.
#[test]
fn s3_load_statements() {
    use duro_core::catalog::s3_load::{
        ColumnType, CsvFormat, DefaultValue, LoadColumn, LoadCopyOptions,
    };
    use duro_core::s3_load::render as load;
    let pages = TableName::parse("raw.pages").unwrap();
    let column = LoadColumn::new;
    let columns = vec![
        LoadColumn { not_null: true, distkey: true, ..column("page_id", ColumnType::Text) },
        LoadColumn { sortkey: Some(1), ..column("hit_time", ColumnType::Timestamp) },
        LoadColumn {
            default: Some(DefaultValue::new("0", ColumnType::Int).unwrap()),
            sortkey: Some(2),
            ..column("hits", ColumnType::Int)
        },
        column("ratio", ColumnType::Numeric(10, 2)),
    ];
    let plain: Vec<LoadColumn> =
        columns.iter().map(|c| LoadColumn { distkey: false, sortkey: None, ..c.clone() }).collect();
    let conf_keys = TableConfig { sortkey: vec!["hit_time".into()], ..TableConfig::default() };
    let role = render::CopyCredentials::IamRole("arn:aws:iam::123456789012:role/duro-copy".into());
    let keys = render::CopyCredentials::Keys {
        access_key_id: "AKIAEXAMPLE".into(),
        secret_access_key: "s3cr3t".into(),
        session_token: None,
    };
    let url = "s3://analytics/api_hits_pages_2015-07-03T00:00:00Z.json.gz";
    let defaults = LoadCopyOptions::default();
    let (json, _) = load::copy_from_s3(
        &pages,
        &columns,
        url,
        false,
        &load::RedshiftFormat::JsonAuto,
        true,
        &role,
        Some("eu-west-1"),
        &defaults,
    );
    let (paths, _) = load::copy_from_s3(
        &pages,
        &columns,
        "s3://analytics/api_hits_pages_2015-07-03T00:00:00Z.json",
        false,
        &load::RedshiftFormat::JsonPaths("s3://analytics/pages.jsonpaths"),
        false,
        &role,
        None,
        &defaults,
    );
    let csv = CsvFormat { delimiter: '|', quote: '"', header: true };
    let options = LoadCopyOptions { max_errors: 5, truncate_columns: false, empty_as_null: true };
    let (with_keys, csv_redacted) = load::copy_from_s3(
        &pages,
        &columns,
        "s3://analytics/api_hits_pages_2015-07-03T00:00:00Z.csv.gz",
        false,
        &load::RedshiftFormat::Csv(csv),
        true,
        &keys,
        None,
        &options,
    );
    assert!(with_keys.contains("s3cr3t") && !csv_redacted.contains("s3cr3t"));
    let (tabs, _) = load::copy_from_s3(
        &pages,
        &columns,
        "s3://analytics/api_hits_pages_2015-07-03T00:00:00Z.gz",
        false,
        &load::RedshiftFormat::Csv(CsvFormat { delimiter: '\t', ..CsvFormat::default() }),
        true,
        &role,
        None,
        &defaults,
    );
    let (manifest, _) = load::copy_from_s3(
        &pages,
        &columns,
        "s3://duro-staging/duro/s3_load/raw.pages/1.manifest",
        true,
        &load::RedshiftFormat::JsonAuto,
        false,
        &role,
        None,
        &defaults,
    );
    golden(
        "redshift_s3_load",
        &[
            load::create_table(Dialect::Redshift, &pages, &columns, &TableConfig::default()),
            load::create_table(Dialect::Redshift, &pages, &plain, &conf_keys),
            load::add_column(&pages, &column("referrer", ColumnType::Text)),
            load::newest_date(&pages, "hit_time", ColumnType::Timestamp),
            load::newest_date(&pages, "hit_time", ColumnType::Timestamptz),
            load::newest_date(&pages, "day", ColumnType::Date),
            load::delete_period(&pages, "day", ColumnType::Date),
            load::delete_period(&pages, "hit_time", ColumnType::Timestamp),
            duro_core::replication::render::delete_all(&pages),
            json,
            paths,
            csv_redacted,
            tabs,
            manifest,
        ],
    );
    golden(
        "postgres_s3_load",
        &[
            load::create_table(Dialect::Postgres, &pages, &columns, &conf_keys),
            load::delete_period(&pages, "hit_time", ColumnType::Timestamptz),
        ],
    );
    assert_eq!(
        load::manifest("s3://analytics/a.json"),
        r#"{"entries":[{"mandatory":true,"url":"s3://analytics/a.json"}]}"#
    );
}
