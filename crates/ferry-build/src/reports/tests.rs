use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/reports/",
            $name
        ))
        .as_slice()
    };
}

fn tests(format: &str, path: &str, bytes: &[u8]) -> Vec<TestCaseResult> {
    match parse(format, path, bytes) {
        Ok(Parsed::Tests(t)) => t,
        other => panic!("expected test cases, got {other:?}"),
    }
}

fn coverage(format: &str, bytes: &[u8]) -> Vec<FileCoverage> {
    match parse(format, "coverage/report", bytes) {
        Ok(Parsed::Coverage(c)) => c,
        other => panic!("expected coverage, got {other:?}"),
    }
}

fn err(format: &str, bytes: &[u8]) -> String {
    match parse(format, "reports/file", bytes) {
        Err(e) => e.to_string(),
        Ok(p) => panic!("expected an error, got {p:?}"),
    }
}

/// (name, status, duration ns) triples for compact assertions.
fn brief(cases: &[TestCaseResult]) -> Vec<(&str, &str, i64)> {
    cases
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.status.as_str(),
                c.duration_in_nano_seconds,
            )
        })
        .collect()
}

fn file<'a>(files: &'a [FileCoverage], path: &str) -> &'a FileCoverage {
    files
        .iter()
        .find(|f| f.file_path == path)
        .unwrap_or_else(|| panic!("no {path} in {files:?}"))
}

fn counts(f: &FileCoverage) -> (Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
    (
        f.lines_covered,
        f.lines_missed,
        f.branches_covered,
        f.branches_missed,
    )
}

#[test]
fn junit_pytest_pass_failure_error_skip() {
    let cases = tests(
        "JUNITXML",
        "reports/pytest.xml",
        fixture!("pytest-junit.xml"),
    );
    assert_eq!(
        brief(&cases),
        [
            ("test_total_includes_tax", SUCCEEDED, 3_000_000),
            ("test_discount_rounding", FAILED, 21_000_000),
            ("test_insert[sqlite]", ERROR, 150_000_000),
            ("test_export_pdf", SKIPPED, 0),
        ]
    );
    assert!(
        cases
            .iter()
            .all(|c| c.test_raw_data_path == "reports/pytest.xml")
    );
    assert!(
        cases
            .iter()
            .all(|c| c.test_suite_name.as_deref() == Some("pytest"))
    );
    assert_eq!(cases[0].prefix.as_deref(), Some("tests.test_orders"));
    assert_eq!(cases[0].message, None);
    assert_eq!(
        cases[2].prefix.as_deref(),
        Some("tests.test_db.TestRepository")
    );
    let failure = cases[1].message.as_deref().unwrap();
    assert!(
        failure.starts_with(
            "assert Decimal('9.99') == Decimal('10.00')\ndef test_discount_rounding():"
        )
    );
    assert!(failure.contains("> ") && failure.ends_with("tests/test_orders.py:18: AssertionError"));
    assert!(cases[2].message.as_deref().unwrap().starts_with(
        "failed on setup with \"ConnectionRefusedError: [Errno 111] Connection refused\"\n@pytest.fixture"
    ));
    assert_eq!(
        cases[3].message.as_deref(),
        Some("reportlab not installed\ntests/test_orders.py:31: reportlab not installed")
    );
    let summary = summarize_tests(&cases);
    assert_eq!(summary.total, 4);
    assert_eq!(summary.duration_in_nano_seconds, 174_000_000);
    let expected: BTreeMap<String, i32> = [SUCCEEDED, FAILED, ERROR, SKIPPED]
        .iter()
        .map(|s| (s.to_string(), 1))
        .collect();
    assert_eq!(summary.status_counts, expected);
}

#[test]
fn junit_surefire_single_suite() {
    let cases = tests(
        "JUNITXML",
        "target/surefire-reports/TEST-com.example.billing.InvoiceServiceTest.xml",
        fixture!("TEST-com.example.billing.InvoiceServiceTest.xml"),
    );
    assert_eq!(
        brief(&cases),
        [
            ("createsInvoice", SUCCEEDED, 1_200_500_000_000),
            ("rejectsNegativeAmount", FAILED, 12_000_000),
            ("retriesOnTimeout", SUCCEEDED, 310_000_000),
            ("sendsEmail", SKIPPED, 0),
        ]
    );
    for c in &cases {
        assert_eq!(
            c.prefix.as_deref(),
            Some("com.example.billing.InvoiceServiceTest")
        );
        assert_eq!(
            c.test_suite_name.as_deref(),
            Some("com.example.billing.InvoiceServiceTest")
        );
    }
    let m = cases[1].message.as_deref().unwrap();
    assert!(m.starts_with(
        "expected: <IllegalArgumentException> but was: <null>\norg.opentest4j.AssertionFailedError"
    ));
    assert!(m.ends_with("(InvoiceServiceTest.java:42)"));
    assert_eq!(cases[2].message, None, "flaky failures passed on rerun");
    assert_eq!(cases[3].message.as_deref(), Some("smtp disabled in CI"));
}

#[test]
fn junit_jest_and_nested_suites() {
    let cases = tests("JUNITXML", "junit.xml", fixture!("jest-junit.xml"));
    assert_eq!(
        brief(&cases),
        [
            ("Cart adds an item", SUCCEEDED, 5_000_000),
            ("Cart computes totals", FAILED, 11_000_000),
            ("Checkout submits the order", SUCCEEDED, 666_000_000),
        ]
    );
    let suites: Vec<_> = cases.iter().map(|c| c.test_suite_name.as_deref()).collect();
    assert_eq!(suites, [Some("Cart"), Some("Cart"), Some("Checkout")]);
    assert_eq!(cases[1].prefix.as_deref(), Some("Cart computes totals"));
    assert!(
        cases[1]
            .message
            .as_deref()
            .unwrap()
            .starts_with("Error: expect(received).toBe(expected)")
    );

    let cases = tests("JUNITXML", "nested.xml", fixture!("nested-junit.xml"));
    assert_eq!(
        brief(&cases),
        [
            ("lists users", SUCCEEDED, 250_000_000),
            ("creates a user", ERROR, 500_000_000),
            ("pings", SUCCEEDED, 1_000_000),
        ]
    );
    let suites: Vec<_> = cases.iter().map(|c| c.test_suite_name.as_deref()).collect();
    assert_eq!(
        suites,
        [
            Some("integration.api"),
            Some("integration.api"),
            Some("integration")
        ]
    );
    assert_eq!(cases[1].message.as_deref(), Some("502 Bad Gateway"));
}

#[test]
fn junit_precedence_and_bom() {
    let xml = "\u{feff}<testsuite name=\"s\"><testcase name=\"t\" classname=\"c\" time=\"0,5\">\
               <skipped/><error message=\"teardown\"/><failure message=\"boom\">trace</failure>\
               </testcase></testsuite>";
    let cases = tests("JUNITXML", "x.xml", xml.as_bytes());
    assert_eq!(brief(&cases), [("t", FAILED, 500_000_000)]);
    assert_eq!(cases[0].message.as_deref(), Some("boom\ntrace"));
}

#[test]
fn nunit2() {
    let cases = tests("NUNITXML", "TestResult.xml", fixture!("nunit2.xml"));
    assert_eq!(
        brief(&cases),
        [
            (
                "Shop.Tests.PricingTests.AppliesVoucher",
                SUCCEEDED,
                12_000_000
            ),
            ("Shop.Tests.PricingTests.RoundsHalfUp", FAILED, 4_000_000),
            ("Shop.Tests.PricingTests.LoadsRates", ERROR, 31_000_000),
            ("Shop.Tests.PricingTests.NeedsArguments", ERROR, 0),
            ("Shop.Tests.PricingTests.Currency(\"EUR\",1.5)", SKIPPED, 0),
        ]
    );
    for c in &cases {
        assert_eq!(c.prefix.as_deref(), Some("Shop.Tests.PricingTests"));
        assert_eq!(c.test_suite_name.as_deref(), Some("PricingTests"));
    }
    assert_eq!(cases[0].message, None);
    assert_eq!(
        cases[1].message.as_deref(),
        Some(
            "  Expected: 2.35m\n  But was:  2.34m\n\nat Shop.Tests.PricingTests.RoundsHalfUp() in /codebuild/output/src9/src/PricingTests.cs:line 31\n"
        )
    );
    assert_eq!(
        cases[2].message.as_deref(),
        Some(
            "System.IO.FileNotFoundException : rates.csv\nat Shop.Pricing.LoadRates()\nat Shop.Tests.PricingTests.LoadsRates()\n"
        )
    );
    // The shape of AWS's own describe-test-cases example for a not-runnable NUnit test.
    assert_eq!(
        cases[3].message.as_deref(),
        Some("No arguments were provided\n")
    );
    assert_eq!(cases[4].message.as_deref(), Some("flaky on CI\n"));
}

#[test]
fn nunit3() {
    let cases = tests("NUNIT3XML", "TestResult.xml", fixture!("nunit3.xml"));
    assert_eq!(
        brief(&cases),
        [
            ("Shop.CartTests.AddsItem", SUCCEEDED, 25_000_000),
            ("Shop.CartTests.RemovesItem", ERROR, 3_000_000),
            ("Shop.CartTests.Totals(1,2)", FAILED, 4_000_000),
            ("Shop.CartTests.Totals(0,0)", UNKNOWN, 1_000_000),
            ("Shop.CartTests.Checkout", SKIPPED, 0),
        ]
    );
    for c in &cases {
        assert_eq!(c.prefix.as_deref(), Some("Shop.CartTests"));
        assert_eq!(c.test_suite_name.as_deref(), Some("CartTests"));
    }
    assert!(cases[1].message.as_deref().unwrap().starts_with(
        "System.NullReferenceException : Object reference not set to an instance of an object.\n   at Shop.Cart.Remove"
    ));
    assert_eq!(cases[4].message.as_deref(), Some("payment sandbox down\n"));
    // NUnit 2 files are not NUnit 3 files.
    assert!(
        err("NUNIT3XML", fixture!("nunit2.xml"))
            .contains("expected a <test-run> root element, found <test-results>")
    );
}

#[test]
fn testng() {
    let cases = tests(
        "TESTNGXML",
        "target/testng-results.xml",
        fixture!("testng-results.xml"),
    );
    assert_eq!(
        brief(&cases),
        [
            ("reservesStock", SUCCEEDED, 15_000_000),
            ("releasesStock", FAILED, 1_987_000_000),
            ("ships", SUCCEEDED, 2_000_000),
            ("audits", SKIPPED, 0),
        ],
        "configuration methods are not test cases"
    );
    let prefixes: Vec<_> = cases.iter().map(|c| c.prefix.as_deref().unwrap()).collect();
    assert_eq!(
        prefixes,
        [
            "com.example.inventory.StockTest",
            "com.example.inventory.StockTest",
            "com.example.inventory.WarehouseTest",
            "com.example.inventory.WarehouseTest",
        ]
    );
    assert!(
        cases
            .iter()
            .all(|c| c.test_suite_name.as_deref() == Some("Inventory suite"))
    );
    let m = cases[1].message.as_deref().unwrap();
    assert!(m.starts_with("expected [5] but found [4]\njava.lang.AssertionError: expected [5] but found [4]\n\tat org.testng.Assert.fail"));
}

#[test]
fn cucumber() {
    let cases = tests(
        "CUCUMBERJSON",
        "target/cucumber.json",
        fixture!("cucumber.json"),
    );
    assert_eq!(
        brief(&cases),
        [
            ("Pays by card", SUCCEEDED, 6_500_000),
            ("Pays by voucher", FAILED, 5_000_000),
            ("Refund to card", SKIPPED, 0),
            ("Restocking fee", ERROR, 0),
        ]
    );
    let prefixes: Vec<_> = cases.iter().map(|c| c.prefix.as_deref().unwrap()).collect();
    assert_eq!(prefixes, ["Checkout", "Checkout", "Returns", "Returns"]);
    assert_eq!(cases[0].test_suite_name.as_deref(), Some("Checkout"));
    assert_eq!(
        cases[1].message.as_deref(),
        Some("AssertionError: voucher SPRING expired\n    at steps/voucher.js:18")
    );
    assert_eq!(
        cases[3].message.as_deref(),
        Some("Multiple step definitions match")
    );

    assert!(err("CUCUMBERJSON", b"{\"name\": \"x\"}").contains("an array of Cucumber features"));
    assert!(err("CUCUMBERJSON", b"[{\"elements\": [").contains("not valid Cucumber JSON"));
    assert_eq!(tests("CUCUMBERJSON", "c.json", b"[]"), []);
}

#[test]
fn visual_studio_trx() {
    let cases = tests(
        "VISUALSTUDIOTRX",
        "TestResults/run.trx",
        fixture!("results.trx"),
    );
    assert_eq!(
        brief(&cases),
        [
            ("ParsesSku", SUCCEEDED, 12_345_000),
            ("RejectsEmptySku", FAILED, 1_500_000_000),
            ("LoadsCatalog", SKIPPED, 0),
            ("Prices", SUCCEEDED, 40_000_000),
        ],
        "inner results of data-driven tests belong to their parent"
    );
    let prefixes: Vec<_> = cases.iter().map(|c| c.prefix.as_deref().unwrap()).collect();
    assert_eq!(
        prefixes,
        [
            "Catalog.Tests.SkuTests",
            "Catalog.Tests.SkuTests",
            "Catalog.Tests.CatalogTests",
            "Catalog.Tests.CatalogTests",
        ]
    );
    assert!(
        cases
            .iter()
            .all(|c| c.test_suite_name.as_deref() == Some("Catalog.Tests.dll"))
    );
    assert_eq!(
        cases[1].message.as_deref(),
        Some(
            "Assert.ThrowsException failed. No exception thrown. ArgumentException exception was expected.\nat Catalog.Tests.SkuTests.RejectsEmptySku() in /src/SkuTests.cs:line 22"
        )
    );
    assert_eq!(cases[2].message.as_deref(), Some("Test method is ignored."));

    // The same run written as UTF-16 with a byte-order mark.
    let text = std::str::from_utf8(fixture!("results.trx")).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(
        tests("VISUALSTUDIOTRX", "TestResults/run.trx", &utf16),
        cases
    );
}

#[test]
fn cobertura_classes_aggregate_per_file() {
    let files = coverage("COBERTURAXML", fixture!("cobertura.xml"));
    let paths: Vec<_> = files.iter().map(|f| f.file_path.as_str()).collect();
    assert_eq!(paths, ["shop/cart.py", "shop/money.py", "legacy/old.py"]);
    let cart = file(&files, "shop/cart.py");
    assert_eq!(counts(cart), (Some(4), Some(2), Some(2), Some(2)));
    assert_eq!(cart.line_coverage_percentage, Some(66.67));
    assert_eq!(cart.branch_coverage_percentage, Some(50.0));
    let money = file(&files, "shop/money.py");
    assert_eq!(counts(money), (Some(1), Some(1), Some(0), Some(0)));
    assert_eq!(money.line_coverage_percentage, Some(50.0));
    assert_eq!(money.branch_coverage_percentage, None);
    let old = file(&files, "legacy/old.py");
    assert_eq!(counts(old), (None, None, None, None));
    assert_eq!(old.line_coverage_percentage, Some(25.0));
    assert_eq!(old.branch_coverage_percentage, Some(0.0));
    let s = summarize_coverage(&files);
    assert_eq!((s.lines_covered, s.lines_missed), (5, 3));
    assert_eq!(s.line_coverage_percentage, 62.5);
    assert_eq!((s.branches_covered, s.branches_missed), (2, 2));
    assert_eq!(s.branch_coverage_percentage, 50.0);
}

#[test]
fn jacoco_line_and_branch_counters() {
    let files = coverage("JACOCOXML", fixture!("jacoco.xml"));
    let paths: Vec<_> = files.iter().map(|f| f.file_path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "com/example/inventory/Stock.java",
            "com/example/inventory/Sku.java",
            "com/example/tools/Cli.java"
        ]
    );
    let stock = file(&files, "com/example/inventory/Stock.java");
    assert_eq!(counts(stock), (Some(5), Some(1), Some(3), Some(1)));
    assert_eq!(stock.line_coverage_percentage, Some(83.33));
    assert_eq!(stock.branch_coverage_percentage, Some(75.0));
    let sku = file(&files, "com/example/inventory/Sku.java");
    assert_eq!(counts(sku), (Some(0), Some(2), Some(0), Some(0)));
    assert_eq!(sku.line_coverage_percentage, Some(0.0));
    assert_eq!(sku.branch_coverage_percentage, None);
    // No counters: the <line> elements are counted.
    let cli = file(&files, "com/example/tools/Cli.java");
    assert_eq!(counts(cli), (Some(1), Some(1), Some(2), Some(2)));
    let s = summarize_coverage(&files);
    assert_eq!(
        (s.lines_covered, s.lines_missed, s.line_coverage_percentage),
        (6, 4, 60.0)
    );
    assert_eq!(
        (
            s.branches_covered,
            s.branches_missed,
            s.branch_coverage_percentage
        ),
        (5, 3, 62.5)
    );
}

#[test]
fn clover_files_use_statements_and_conditionals() {
    let files = coverage("CLOVERXML", fixture!("clover.xml"));
    let paths: Vec<_> = files.iter().map(|f| f.file_path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/codebuild/output/src2/src/src/Cart/Cart.php",
            "/codebuild/output/src2/src/src/helpers.php"
        ],
        "test sources under <testproject> are left out"
    );
    assert_eq!(counts(&files[0]), (Some(10), Some(2), Some(3), Some(1)));
    assert_eq!(files[0].line_coverage_percentage, Some(83.33));
    assert_eq!(files[0].branch_coverage_percentage, Some(75.0));
    assert_eq!(counts(&files[1]), (Some(2), Some(1), Some(1), Some(1)));
    assert_eq!(files[1].line_coverage_percentage, Some(66.67));
}

#[test]
fn simplecov_resultset_merges_commands() {
    let files = coverage("SIMPLECOV", fixture!("simplecov-resultset.json"));
    let cart = file(&files, "/codebuild/output/src5/src/lib/shop/cart.rb");
    assert_eq!(counts(cart), (Some(4), Some(1), Some(1), Some(1)));
    assert_eq!(cart.line_coverage_percentage, Some(80.0));
    assert_eq!(cart.branch_coverage_percentage, Some(50.0));
    let money = file(&files, "/codebuild/output/src5/src/lib/shop/money.rb");
    assert_eq!(counts(money), (Some(2), Some(1), Some(0), Some(0)));
    assert_eq!(money.line_coverage_percentage, Some(66.67));
    assert_eq!(files.len(), 2);

    // Before simplecov 0.18 a file maps straight to its lines.
    let legacy = br#"{"RSpec": {"coverage": {"/a.rb": [1, 0, null]}, "timestamp": 1}}"#;
    let files = coverage("SIMPLECOV", legacy);
    assert_eq!(counts(&files[0]), (Some(1), Some(1), Some(0), Some(0)));
}

#[test]
fn simplecov_json_formatter_and_not_simplecov_json() {
    let files = coverage("SIMPLECOV", fixture!("simplecov-coverage.json"));
    let paths: Vec<_> = files.iter().map(|f| f.file_path.as_str()).collect();
    assert_eq!(paths, ["/app/lib/legacy.rb", "/app/lib/tax.rb"]);
    assert_eq!(counts(&files[0]), (Some(1), Some(3), Some(0), Some(0)));
    assert_eq!(files[0].line_coverage_percentage, Some(25.0));
    assert_eq!(counts(&files[1]), (Some(3), Some(1), Some(1), Some(1)));
    assert_eq!(files[1].line_coverage_percentage, Some(75.0));
    assert_eq!(files[1].branch_coverage_percentage, Some(50.0));

    let e = err("SIMPLECOV", fixture!("simplecov-json-gem.json"));
    assert!(e.contains("simplecov-json"), "{e}");
    assert!(err("SIMPLECOV", b"[1, 2]").contains("expected a JSON object"));
    assert!(
        err("SIMPLECOV", b"{\"RSpec\": {\"timestamp\": 1}}").contains("no \"coverage\" object")
    );
}

#[test]
fn malformed_and_unsafe_xml_is_refused() {
    let e = err("JUNITXML", b"<testsuite><testcase name='a'></testsuite>");
    assert!(
        e.starts_with("invalid JUNITXML report reports/file: malformed XML"),
        "{e}"
    );
    let e = err(
        "JUNITXML",
        b"<testsuites><testsuite name='x'><testcase name='a'/>",
    );
    assert!(e.contains("unexpected end of file"), "{e}");
    assert!(err("JUNITXML", b"").contains("no root element"));
    assert!(err("JUNITXML", b"   \n").contains("no root element"));
    assert!(
        err("JUNITXML", b"<a/><b/>")
            .contains("expected a <testsuites> or <testsuite> root element, found <a>")
    );
    assert!(err("JUNITXML", fixture!("nunit2.xml")).contains("found <test-results>"));
    assert!(err("JUNITXML", &[0x3c, 0xff, 0xfe, 0x3e]).contains("not valid UTF-8"));

    // XXE: internal subsets and entity declarations are refused outright.
    let xxe = br#"<?xml version="1.0"?><!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><testsuite><testcase name="&xxe;"/></testsuite>"#;
    assert!(err("JUNITXML", xxe).contains("DOCTYPE with an internal subset"));
    let bomb = br#"<!DOCTYPE t [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><testsuite/>"#;
    assert!(err("JUNITXML", bomb).contains("DOCTYPE"));
    // Undeclared entities are errors, in text and in attributes.
    assert!(
        err(
            "JUNITXML",
            b"<testsuite><testcase name='a'><failure>&xxe;</failure></testcase></testsuite>"
        )
        .contains("undefined entity &xxe;")
    );
    assert!(
        err(
            "JUNITXML",
            b"<testsuite><testcase name='&xxe;'/></testsuite>"
        )
        .contains("bad value of name=")
    );
    // An external DTD reference alone (JaCoCo, Cobertura) is fine and never fetched.
    let ok = br#"<!DOCTYPE testsuite SYSTEM "http://example.invalid/junit.dtd"><testsuite><testcase name="a &amp; b&#33;"/></testsuite>"#;
    assert_eq!(tests("JUNITXML", "x", ok)[0].name, "a & b!");
    // Absurd nesting is refused rather than followed.
    let deep = format!(
        "{}{}",
        "<testsuite>".repeat(300),
        "</testsuite>".repeat(300)
    );
    assert!(err("JUNITXML", deep.as_bytes()).contains("nested deeper"));
}

#[test]
fn too_many_test_cases_are_refused() {
    let mut xml = String::from("<testsuite name=\"big\">");
    for _ in 0..MAX_TEST_CASES {
        xml.push_str("<testcase name=\"t\" time=\"0.001\"/>");
    }
    xml.push_str("</testsuite>");
    let cases = tests("JUNITXML", "big.xml", xml.as_bytes());
    assert_eq!(cases.len(), MAX_TEST_CASES);
    let over = xml.replace("</testsuite>", "<testcase name=\"one more\"/></testsuite>");
    assert!(err("JUNITXML", over.as_bytes()).contains("more than 100000 test cases"));
}

#[test]
fn formats_and_summaries() {
    for f in COVERAGE_FORMATS {
        assert!(is_coverage(f));
    }
    for f in TEST_FORMATS {
        assert!(!is_coverage(f));
    }
    assert!(err("LCOVINFO", b"").starts_with("unsupported report file format \"LCOVINFO\""));

    assert_eq!(summarize_tests(&[]), TestSummary::default());
    assert_eq!(summarize_coverage(&[]), CoverageSummary::default());
    let f = |c, m| FileCoverage::from_counts("f".into(), Some((c, m)), None);
    let s = summarize_coverage(&[f(3, 1), f(2, 0)]);
    assert_eq!(
        (s.lines_covered, s.lines_missed, s.line_coverage_percentage),
        (5, 1, 83.33)
    );
    assert_eq!(s.branch_coverage_percentage, 0.0);
    assert_eq!(
        summarize_coverage(&[f(10, 1)]).line_coverage_percentage,
        90.91
    );
    assert_eq!(
        summarize_coverage(&[f(2, 1)]).line_coverage_percentage,
        66.67
    );

    // Serialized with CodeBuild's member names.
    let case = &tests("JUNITXML", "r.xml", fixture!("nested-junit.xml"))[1];
    let json = serde_json::to_value(case).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "testRawDataPath": "r.xml", "prefix": "api.Users", "name": "creates a user",
            "status": "ERROR", "durationInNanoSeconds": 500_000_000, "message": "502 Bad Gateway",
            "testSuiteName": "integration.api"
        })
    );
    let cov = serde_json::to_value(f(5, 1)).unwrap();
    assert_eq!(cov["lineCoveragePercentage"], 83.33);
    assert_eq!(cov["filePath"], "f");
}

#[test]
fn seconds_parsing() {
    assert_eq!(seconds_to_nanos("0.001"), 1_000_000);
    assert_eq!(seconds_to_nanos("1,234.5"), 1_234_500_000_000);
    assert_eq!(seconds_to_nanos("0,25"), 250_000_000);
    assert_eq!(seconds_to_nanos(" 2 "), 2_000_000_000);
    assert_eq!(seconds_to_nanos("-1"), 0);
    assert_eq!(seconds_to_nanos("NaN"), 0);
    assert_eq!(seconds_to_nanos(""), 0);
}
