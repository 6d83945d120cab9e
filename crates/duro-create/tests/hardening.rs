//! The views repository is untrusted input. These builds run text that tries to do more than
//! build its table, straight through `refresh::build_table` (the scheduler's checks would refuse
//! it first), against a real PostgreSQL: the victim tables in another schema must survive. Also
//! grantees whose names need quoting, and chains of views with their owners.

use crate::support::{Setup, built_names};
use duro_core::build::{FailureClass, Phases};
use duro_core::catalog::TableConfig;
use duro_core::refresh::{self, BuildContext, ProcessorDefinition, TableDefinition};
use duro_core::warehouse::WarehouseError;
use duro_core::warehouse::grantee::select_grantees;

const VICTIM: &str = "create schema s; create schema victim;
    create table victim.k1 as select 1 as k;";

fn victims_survive(setup: &Setup) {
    assert_eq!(setup.scalar::<i64>("select count(*) from victim.k1"), 1, "victim.k1 lost its row");
    assert!(
        !setup.scalar::<bool>("select exists (select 1 from pg_class where relname = 'pwned')"),
        "a table was created by a hidden statement"
    );
}

fn view(query: &str, tests: Option<&str>) -> TableDefinition {
    TableDefinition {
        name: duro_core::identifier::TableName::parse("s.t").unwrap(),
        query: query.into(),
        tests: tests.map(str::to_owned),
        config: TableConfig::default(),
        processor: None,
        row_check: Default::default(),
    }
}

/// `table` with a cost limit, so its query goes through `EXPLAIN` first.
fn with_max_cost(mut table: TableDefinition) -> TableDefinition {
    table.config.max_cost = Some(1_000_000_000);
    table
}

fn processor(select: &str, ddl: &str) -> TableDefinition {
    TableDefinition {
        processor: Some(ProcessorDefinition {
            ddl: ddl.into(),
            source: "import shutil, sys\nshutil.copy(sys.argv[1], sys.argv[2])\n".into(),
            requirements: None,
            script_path: None,
            timeout: None,
            csv_delimiter: Default::default(),
        }),
        ..view(select, None)
    }
}

fn build(setup: &Setup, table: &TableDefinition) -> Result<refresh::Built, WarehouseError> {
    let work = setup.state_dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut config = setup.config.clone();
    config.processors.work_dir = Some(work);
    let context = BuildContext::from_config(&config);
    let mut client = duro_core::warehouse::connect(&config.warehouse).unwrap();
    let mut prepared = duro_core::warehouse::statement::Prepared::default();
    let mut session = context.session(&mut client, &mut prepared, &|| false);
    refresh::build_table(&mut session, &context.processors, table, 60, &mut Phases::default())
}

/// Ten ways repository text tried to run a second statement or write: each fails, and nothing
/// but the intended statement ran.
#[test]
fn hidden_statements_never_run() {
    let setup = Setup::new(&[("s/ok — 1d.sql", "select 1 as a")], VICTIM);
    let cases: Vec<(&str, TableDefinition)> = vec![
        (
            "a view closing the wrapping parenthesis",
            view(
                "select 1 as a); drop table victim.k1; create table victim.pwned as (select current_user::text as who",
                None,
            ),
        ),
        (
            "processor DDL with a statement before its create table",
            processor("select 1 as a", "drop table victim.k1; create table s.t (a int)"),
        ),
        (
            "processor DDL with a statement after its create table",
            processor("select 1 as a", "create table s.t (a int); drop table victim.k1"),
        ),
        (
            "a processor select with a second statement",
            processor("select 1 as a; drop table victim.k1", "create table s.t (a int)"),
        ),
        (
            "a view asking for its plan (`max_cost`) with a second statement",
            with_max_cost(view("select 1 as a; drop table victim.k1", None)),
        ),
        (
            "a view asking for its plan (`max_cost`) closing the wrapping parenthesis",
            with_max_cost(view(
                "select 1 as a) as x; drop table victim.k1; select * from (select 1",
                None,
            )),
        ),
        (
            "a view asking for its plan (`max_cost`) that is `analyze delete`",
            with_max_cost(view("analyze delete from victim.k1", None)),
        ),
        ("a data test dropping a table", view("select 1 as a", Some("drop table victim.k1"))),
        (
            "a data test deleting inside `with`",
            view(
                "select 1 as a",
                Some(
                    "with gone as (delete from victim.k1 returning *) select true as ok from gone",
                ),
            ),
        ),
        (
            "a data test with select … into",
            view("select 1 as a", Some("select true as ok into victim.pwned from s.t")),
        ),
    ];
    for (what, table) in cases {
        let result = build(&setup, &table);
        assert!(result.is_err(), "{what}: built");
        victims_survive(&setup);
        assert!(
            !setup.scalar::<bool>("select exists (select 1 from pg_class where relname = 't')"),
            "{what}: s.t went live"
        );
    }
}

/// A test returning a type the driver does not know (an enum) runs in the read-only transaction
/// and is judged by its boolean columns.
#[test]
fn tests_with_unknown_result_types_run_read_only() {
    let setup = Setup::new(
        &[("s/ok — 1d.sql", "select 1 as a")],
        "create schema s; create type s.mood as enum ('ok', 'sad');",
    );
    // A value of a type Duro does not decode passes unless it is NULL.
    let failing = view(
        "select 'ok'::s.mood as mood, null::s.mood as unknown",
        Some("select mood, unknown, mood = 'ok' as fine from s.t;\nselect true as yes"),
    );
    let error = build(&setup, &failing).unwrap_err();
    assert_eq!(error.class, FailureClass::TestFailed, "{error:?}");
    assert!(error.message.contains("fails in `unknown`"), "{}", error.message);
    let passing =
        view("select 'ok'::s.mood as mood", Some("select mood, mood = 'ok' as fine from s.t"));
    assert_eq!(build(&setup, &passing).unwrap().rows, 1);
}

/// Test values pass the way the original Duro counted them: anything but NULL, false, a numeric
/// zero or an empty string; a query without rows fails.
#[test]
fn test_values_pass_when_truthy() {
    let setup = Setup::new(&[("s/ok — 1d.sql", "select 1 as a")], "create schema s");
    let passing = [
        "select count(*) from s.t",
        "select true as yes, 1.5::numeric as half, -2 as minus, 'f'::text as word, current_date as day",
    ];
    for tests in passing {
        let table = view("select 1 as a union all select 2", Some(tests));
        assert_eq!(build(&setup, &table).map(|b| b.rows), Ok(2), "{tests}");
    }
    let failing = [
        ("select count(*) from s.t where a > 5", "fails in `count`"),
        ("select 0.0::float8 as zero, 0::numeric as nothing", "fails in `zero`, `nothing`"),
        ("select ''::varchar as empty", "fails in `empty`"),
        ("select null::int as missing", "fails in `missing`"),
        ("select false as no", "fails in `no`"),
        ("select a from s.t where a > 5", "test 1 returned no rows"),
    ];
    for (tests, expected) in failing {
        let table = view("select 1 as a union all select 2", Some(tests));
        let error = build(&setup, &table).unwrap_err();
        assert_eq!(error.class, FailureClass::TestFailed, "{tests}: {error:?}");
        assert!(error.message.contains(expected), "{tests}: {}", error.message);
    }
}

/// Grantee names that need quoting survive every rebuild, whether configured or granted by
/// hand on the live table.
#[test]
fn grantees_needing_quotes_survive_rebuilds() {
    let setup = Setup::new(
        &[("s/t — 1d.sql", "select 1 as a"), ("s/t.conf", "grant_select=data-team, a.b, x@y\n")],
        r#"create schema s; create role "data-team"; create role "a.b"; create role "x@y";
           create role "group bi"; create role "evil""role"; create role "by-hand";"#,
    );
    assert_eq!(built_names(&setup.cycle()), ["s.t"]);
    setup
        .client()
        .batch_execute(
            r#"grant select on s.t to "group bi", "evil""role";
               grant select on s.t to "by-hand" with grant option;"#,
        )
        .unwrap();
    // The privilege text PostgreSQL prints, in both forms, parses to the same grantees.
    let row = setup
        .client()
        .query_one(
            "select relacl::text, array_to_string(relacl, ',') from pg_class where oid = 's.t'::regclass",
            &[],
        )
        .unwrap();
    for text in [row.get::<_, String>(0), row.get::<_, String>(1)] {
        let mut names: Vec<(String, bool)> = select_grantees(&text, "duro")
            .into_iter()
            .map(|g| (g.name, g.with_grant_option))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ("a.b".to_owned(), false),
                ("by-hand".to_owned(), true),
                ("data-team".to_owned(), false),
                ("evil\"role".to_owned(), false),
                ("group bi".to_owned(), false),
                ("x@y".to_owned(), false),
            ],
            "{text}"
        );
    }
    for round in 1..=3 {
        setup.force("s.t");
        let report = setup.cycle();
        assert_eq!(built_names(&report), ["s.t"], "round {round}: {report:?}");
        for role in ["data-team", "a.b", "x@y", "group bi", "evil\"role", "by-hand"] {
            let has: bool = setup
                .client()
                .query_one("select has_table_privilege($1, 's.t', 'select')", &[&role])
                .unwrap()
                .get(0);
            assert!(has, "round {round}: {role} lost select");
        }
        let granting: bool = setup
            .scalar(r#"select has_table_privilege('by-hand', 's.t', 'select with grant option')"#);
        assert!(granting, "round {round}: the grant option was lost");
    }
}

/// `v2` reads view `v1`, which reads a Duro table. A column type change re-creates the chain in
/// order; each view keeps its owner and grants.
#[test]
fn chains_of_views_keep_their_owners_and_grants() {
    let setup = Setup::new(
        &[("s/t — 1d.sql", "select 1::int as a, 'x'::text as b")],
        "create schema s; create schema r; create role chain_owner; create role chain_reader;
         grant usage, create on schema s, r to chain_owner;",
    );
    assert_eq!(built_names(&setup.cycle()), ["s.t"]);
    setup
        .client()
        .batch_execute(
            "grant select on s.t to chain_owner;
             create view r.v1 as select a, b from s.t;
             create view r.v2 as select a from r.v1;
             alter table r.v1 owner to chain_owner;
             grant select on r.v2 to chain_reader;",
        )
        .unwrap();
    // Same columns: replaced in place.
    setup.force("s.t");
    assert_eq!(built_names(&setup.cycle()), ["s.t"]);
    // A type change: the chain is dropped and re-created.
    setup.write(&[("s/t — 1d.sql", "select 2::bigint as a, 'y'::text as b")]);
    setup.schedule();
    let report = setup.cycle();
    assert_eq!(built_names(&report), ["s.t"], "{report:?}");
    assert_eq!(setup.scalar::<i64>("select a from r.v2"), 2);
    assert_eq!(
        setup.scalar::<String>("select viewowner::text from pg_views where viewname = 'v1'"),
        "chain_owner"
    );
    assert!(setup.scalar::<bool>("select has_table_privilege('chain_reader', 'r.v2', 'select')"));
}

/// A view the warehouse user cannot give back to its owner fails the build before the swap,
/// naming the view and its owner; the live table stays.
#[test]
fn a_view_of_a_stranger_fails_the_build_early() {
    let setup = Setup::new(
        &[("s/t — 1d.sql", "select 1::int as a")],
        "create schema s; create role builder login; create role stranger;
         grant usage, create on schema s to builder; grant usage on schema s to stranger;",
    );
    let mut as_builder = setup.config.clone();
    as_builder.warehouse.url = Some(setup.url.replacen("duro@", "builder@", 1).into());
    let creator = duro_core::creator::Creator::new(
        as_builder,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let cycle = || creator.run_cycle(&duro_core::creator::Selection::Due).unwrap();
    assert_eq!(built_names(&cycle()), ["s.t"]);
    setup
        .client()
        .batch_execute(
            "grant select on s.t to stranger;
             create view s.v as select a from s.t; alter table s.v owner to stranger;",
        )
        .unwrap();
    setup.write(&[("s/t — 1d.sql", "select 5::bigint as a")]);
    setup.schedule();
    let report = cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let message = &report.failed[0].message;
    assert!(message.contains("view `s.v` (owner `stranger`)"), "{message}");
    assert_eq!(setup.scalar::<i32>("select a from s.t"), 1, "the live table changed");
    assert_eq!(setup.scalar::<i32>("select a from s.v"), 1);
}

/// A materialized view on the table (through a view, too) cannot be re-pointed: the build fails
/// before anything changes, naming it, and the live table and the view stay as they were.
#[test]
fn a_materialized_view_fails_the_build_early() {
    let setup = Setup::new(&[("s/t — 1d.sql", "select 1::int as a")], "create schema s;");
    assert_eq!(built_names(&setup.cycle()), ["s.t"]);
    setup
        .client()
        .batch_execute(
            "create view s.v as select a from s.t;
             create materialized view s.mv as select a from s.v;",
        )
        .unwrap();
    setup.write(&[("s/t — 1d.sql", "select 5::int as a")]);
    setup.schedule();
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let message = &report.failed[0].message;
    assert!(message.contains("materialized view `s.mv` depends on `s.t`"), "{message}");
    assert_eq!(setup.scalar::<i32>("select a from s.t"), 1, "the live table changed");
    assert_eq!(setup.scalar::<i32>("select a from s.mv"), 1);
}

/// A wrong password is reported with the server's reason, not as a bare `db error`, and the
/// password never appears.
#[test]
fn a_wrong_password_says_so_without_the_password() {
    let setup = Setup::new(&[("s/t — 1d.sql", "select 1 as a")], "");
    let role = duro_core::testing::PASSWORD_ROLE;
    setup
        .client()
        .batch_execute(&format!(
            "do $$ begin
                 if not exists (select 1 from pg_roles where rolname = '{role}') then
                     create role {role} login password 'the-right-one';
                 end if;
             end $$"
        ))
        .unwrap();
    let mut config = setup.config.warehouse.clone();
    config.url = Some(setup.url.replacen("duro@", &format!("{role}@"), 1).into());
    config.password = Some("hunter2-wrong".into());
    let error = duro_core::warehouse::connect(&config).err().unwrap();
    assert_eq!(error.class, FailureClass::Connection);
    assert!(
        error.message.contains(&format!("password authentication failed for user \"{role}\"")),
        "{}",
        error.message
    );
    assert!(!error.message.contains("hunter2"), "{}", error.message);
    assert!(!error.transient, "a wrong password is not worth retrying");
    config.password = Some("the-right-one".into());
    assert!(duro_core::warehouse::connect(&config).is_ok());
}

/// Redshift's messages, raised for real by the test PostgreSQL with Redshift's codes: each is
/// classified as a build records it.
#[test]
fn redshift_errors_are_classified() {
    let setup = Setup::new(&[("s/t — 1d.sql", "select 1 as a")], "");
    let mut client = setup.client();
    let mut raised = |code: &str, message: &str| {
        let error = client
            .batch_execute(&format!(
                "do $$ begin raise exception using errcode = '{code}', message = '{}'; end $$",
                message.replace('\'', "''")
            ))
            .unwrap_err();
        WarehouseError::from_postgres(&error, false)
    };
    let wlm = raised(
        "57014",
        "Query (1234) cancelled by WLM abort action of Query Monitoring Rule \"runaway\".",
    );
    assert_eq!((wlm.class, wlm.transient), (FailureClass::SqlError, false));
    assert!(wlm.message.contains("workload management"), "{}", wlm.message);
    assert!(wlm.message.contains("Query Monitoring Rule \"runaway\""), "{}", wlm.message);
    let timeout = raised("57014", "canceling statement due to statement timeout");
    assert_eq!((timeout.class, timeout.transient), (FailureClass::Timeout, false));
    for message in [
        "1023 Serializable isolation violation on table - 100, transactions forming the cycle are: 1, 2",
        "1018 Relation does not exist.",
    ] {
        let error = raised("XX000", message);
        assert_eq!((error.class, error.transient), (FailureClass::SqlError, true), "{message}");
    }
    let other = raised("XX000", "1216 Missing data for not-null field");
    assert!(!other.transient, "{}", other.message);
}

/// TLS against the test server, whose certificate is for `localhost` only and signed by a test
/// CA: `verify-ca` accepts it at 127.0.0.1 with the CA as `tls_root_cert` (the chain is checked,
/// the name is not), `require` refuses it there (wrong name) and accepts it at `localhost`, and
/// neither accepts it against the Mozilla roots.
#[test]
fn tls_modes_verify_what_they_say() {
    use duro_core::config::{RootCertificates, TlsMode};
    let setup = Setup::new(&[("s/t — 1d.sql", "select 1 as a")], "");
    let ca = &duro_core::testing::cluster().ca_cert;
    let connect = |mode: TlsMode, host: &str, roots: bool| {
        let mut config = setup.config.warehouse.clone();
        config.tls = Some(mode);
        config.url = Some(setup.url.replacen("127.0.0.1", host, 1).into());
        if roots {
            config.tls_root_cert = Some(ca.clone());
            config.tls_roots = RootCertificates::read_pem(ca).unwrap();
        }
        duro_core::warehouse::connect(&config).map(|mut client| {
            client
                .query_one("select ssl from pg_stat_ssl where pid = pg_backend_pid()", &[])
                .unwrap()
                .get::<_, bool>(0)
        })
    };
    assert_eq!(connect(TlsMode::VerifyCa, "127.0.0.1", true), Ok(true));
    assert_eq!(connect(TlsMode::Require, "localhost", true), Ok(true));
    let wrong_name = connect(TlsMode::Require, "127.0.0.1", true).unwrap_err();
    assert!(wrong_name.message.contains("not valid for name"), "{}", wrong_name.message);
    for mode in [TlsMode::VerifyCa, TlsMode::Require] {
        let unknown = connect(mode, "localhost", false).unwrap_err();
        assert!(unknown.message.contains("UnknownIssuer"), "{mode:?}: {}", unknown.message);
    }
    assert_eq!(connect(TlsMode::Disable, "127.0.0.1", false), Ok(false));
}
