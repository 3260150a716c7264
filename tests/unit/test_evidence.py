#!/usr/bin/env python3
# The evidence generator (scripts/evidence) on small source trees of its
# own, and the project's committed mapping against a deliberately stale
# copy: unknown IDs, untagged tests, a claimed row with no test, a tag on a
# row that claims nothing, code that does not exist, a stale committed
# mapping; in a run's report a requirement is proven only when one of its
# tests passed (a skipped, failed, crashed or not-run test proves nothing,
# nor does a unit test function whose program failed afterwards).
# Proves: none (tests the generator of the traceability and the evidence
# reports, not a requirement of the product).
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SRCDIR = os.environ.get("CML_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVIDENCE = os.path.join(SRCDIR, "scripts", "evidence")

REQS = """\
# a small list
TSF.A
  family: TSF
  requirement: A must hold
  part: a part
  state: implemented
  code: src/a.c (foo)
  does: does A,
    continued on a second line.

TSF.B
  family: TSF
  requirement: B must hold
  part: b part
  state: partial
  code: src/a.c
  does: some of B.

TSF.C
  family: TSF
  requirement: C must hold
  part: c part
  state: not implemented
  does: nothing yet.

CR 9.8(2)
  family: IEC 62443-4-2 FR 9 (testing)
  requirement: an implemented enhancement
  part: all
  state: implemented
  code: src/a.c (foo)
  does: it.

CR 9.9(1)
  family: IEC 62443-4-2 FR 9 (testing)
  requirement: an enhancement
  part: none
  state: out of scope
  does: the platform's.
"""

UNIT = """\
#include <cmocka.h>

/*
 * The first.
 * Proves: TSF.A (with a note,
 * over two lines).
 */
static void
test_one(void **state)
{
}

/* Proves: TSF.B. */
static void test_two(void **state)
{
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one),
		cmocka_unit_test(test_two),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
"""


def run(*args, cwd=None):
    p = subprocess.run([sys.executable, EVIDENCE] + list(args),
                       capture_output=True, text=True, cwd=cwd, timeout=120)
    return p.returncode, p.stdout, p.stderr


class Tree:
    """A source tree of its own in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cml-test-evidence.")
        self.put("Makefile.am",
                 "UNIT_TESTS =\nUNIT_TESTS += \\\n\ttests/unit/test_a\n"
                 "INTEGRATION_TESTS = \\\n\ttests/integration/x.sh \\\n"
                 "\ttests/integration/y.sh\n")
        self.put("src/a.c", "int\nfoo(void)\n{\n\treturn 0;\n}\n")
        self.put("doc/requirements.txt", REQS)
        self.put("tests/unit/test_a.c", UNIT)
        self.put("tests/integration/x.sh",
                 "#!/bin/bash\n# X.\n# Proves: TSF.A.\nexit 0\n")
        self.put("tests/integration/y.sh",
                 "#!/bin/bash\n# Y.\n# Proves: TSF.B (a note), TSF.A\n"
                 "# (a second note), CR 9.8(2) (an\n# enhancement).\n\n"
                 "# other text\nexit 0\n")

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def put(self, rel, text):
        os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        with open(self.path(rel), "w") as f:
            f.write(text)

    def get(self, rel):
        with open(self.path(rel)) as f:
            return f.read()

    def edit(self, rel, old, new):
        text = self.get(rel)
        assert old in text, (old, rel)
        self.put(rel, text.replace(old, new, 1))

    def evidence(self, *args):
        return run("--srcdir", self.dir, *args)

    def results(self, unit_log, unit_trs, x, y):
        """A build directory as make check leaves it."""
        b = self.path("build")
        os.makedirs(os.path.join(b, "tests/unit"), exist_ok=True)
        os.makedirs(os.path.join(b, "tests/integration"), exist_ok=True)

        def put(rel, text):
            if text is not None:
                with open(os.path.join(b, rel), "w") as f:
                    f.write(text)
        put("tests/unit/test_a.log", unit_log)
        for rel, res in (("tests/unit/test_a.trs", unit_trs),
                         ("tests/integration/x.trs", x),
                         ("tests/integration/y.trs", y)):
            if res is not None:
                put(rel, ":test-result: %s\n:global-test-result: %s\n" %
                    (res, res))
        return b

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def cmocka(**results):
    """A cmocka log: name=OK|FAILED|SKIPPED|RUN (RUN: it never ended)."""
    lines = ["[==========] Running %d test(s)." % len(results)]
    for fn, r in results.items():
        lines.append("[ RUN      ] %s" % fn)
        if r != "RUN":
            lines.append("[ %s ] %s" % (r.center(8), fn))
    return "\n".join(lines) + "\n"


class Html(html.parser.HTMLParser):
    """Collects the evidence cell of each requirement row."""

    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.depth = {}, None, None, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "id" in a:
            self.row = a["id"]
            self.rows[self.row] = []
        elif tag == "td" and self.row:
            self.cell = a.get("class", "")
            self.rows[self.row].append([self.cell, ""])

    def handle_endtag(self, tag):
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.row and self.rows[self.row]:
            self.rows[self.row][-1][1] += data


class Mapping(unittest.TestCase):
    def setUp(self):
        self.t = Tree()

    def tearDown(self):
        self.t.close()

    def test_write_then_check_current(self):
        rc, out, err = self.t.evidence("write")
        self.assertEqual(rc, 0, err)
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 0, err)
        self.assertIn("is current", out)
        tr = self.t.get("doc/traceability.md")
        # one table, no blank line inside it
        self.assertIn("| TSF.A | A must hold | `src/a.c` (`foo`) | "
                      "implemented | does A, continued on a second line. | "
                      "`tests/unit/test_a.c` (`test_one`), "
                      "`tests/integration/x.sh`, `tests/integration/y.sh` |",
                      tr)
        self.assertIn("| TSF.C | C must hold | — | not implemented | "
                      "nothing yet. | — |", tr)
        self.assertIn("| TSF | 3 | 1 | 1 | 1 | 0 |", tr)
        self.assertIn("| **all** | 5 | 2 | 1 | 1 | 1 |", tr)
        self.assertIn("| IEC 62443-4-2 FR 9 (testing) | 2 | 1 | 0 | 0 | 1 "
                      "|", tr)
        # an enhancement's ID followed by a note
        self.assertIn("| `tests/integration/y.sh` | TSF.B, TSF.A, "
                      "CR 9.8(2) |", tr)
        rq = self.t.get("doc/requirements.md")
        self.assertIn("| CR 9.9(1) | IEC 62443-4-2 FR 9 (testing) | an "
                      "enhancement | none |", rq)
        for doc in (tr, rq):
            for table in doc.split("\n\n"):
                rows = [ln for ln in table.splitlines()
                        if ln.startswith("|")]
                if rows:
                    self.assertEqual(len(rows), len(table.splitlines()),
                                     "a table cut by other lines:\n" +
                                     table)

    def test_unknown_id_fails_and_writes_nothing(self):
        self.t.edit("tests/integration/x.sh", "TSF.A.", "TSF.A, TSF.Z.")
        rc, out, err = self.t.evidence("write")
        self.assertEqual(rc, 1)
        self.assertIn("tests/integration/x.sh:3: unknown requirement ID "
                      "'TSF.Z'", err)
        self.assertIn("nothing written", err)
        self.assertFalse(os.path.exists(self.t.path("doc/traceability.md")))
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 1)
        self.assertIn("unknown requirement ID 'TSF.Z'", err)

    def test_two_ids_in_one_item_refused(self):
        self.t.edit("tests/integration/x.sh", "TSF.A.", "TSF.A/B.")
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 1)
        self.assertIn("unknown requirement ID 'TSF.A/B'", err)

    def test_unit_function_without_tag_fails(self):
        self.t.edit("tests/unit/test_a.c", "/* Proves: TSF.B. */\n", "")
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 1)
        self.assertIn("test_two has no comment with 'Proves:' directly "
                      "above it", err)

    def test_script_without_tag_fails(self):
        self.t.edit("tests/integration/x.sh", "# Proves: TSF.A.\n", "")
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 1)
        self.assertIn("tests/integration/x.sh: no '# Proves:' tag", err)

    def test_claimed_row_with_no_test_fails(self):
        # TSF.C claimed, but nothing names it
        self.t.edit("doc/requirements.txt",
                    "state: not implemented", "state: implemented\n"
                    "  code: src/a.c")
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 1)
        self.assertIn("TSF.C is implemented but no test proves it", err)

    def test_tag_on_unclaimed_row_fails(self):
        self.t.edit("tests/integration/x.sh", "TSF.A.", "TSF.A, TSF.C.")
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 1)
        self.assertIn("TSF.C is not implemented, yet tests/integration/x.sh "
                      "name it", err)

    def test_missing_code_fails(self):
        self.t.edit("doc/requirements.txt", "src/a.c (foo)",
                    "src/a.c (foo, bar), src/gone.c")
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 1)
        self.assertIn("TSF.A: src/a.c defines no function bar", err)
        self.assertIn("TSF.A: code file src/gone.c does not exist", err)

    def test_test_not_in_makefile_not_counted(self):
        # a tagged script make check does not run proves nothing
        self.t.edit("Makefile.am", "\ttests/integration/x.sh \\\n", "")
        self.t.edit("tests/unit/test_a.c", "Proves: TSF.A (", "Proves: "
                    "TSF.B (")
        self.t.edit("tests/integration/y.sh", ", TSF.A\n# (a second "
                    "note)", "")
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 1)
        self.assertIn("TSF.A is implemented but no test proves it", err)

    def test_stale_mapping_fails(self):
        self.assertEqual(self.t.evidence("write")[0], 0)
        # a test now proves more than the committed mapping says
        self.t.edit("tests/integration/x.sh", "TSF.A.", "TSF.A, TSF.B.")
        rc, out, err = self.t.evidence("check")
        self.assertEqual(rc, 1)
        self.assertIn("doc/traceability.md: differs from what the tags", err)
        self.assertIn("+| `tests/integration/x.sh` | TSF.A, TSF.B |", err)

    def test_project_mapping_current_and_stale_copy_fails(self):
        # the project's own committed files are what the generator makes
        rc, out, err = run("--srcdir", SRCDIR, "check")
        self.assertEqual(rc, 0, err)
        # and a deliberately stale copy of them is caught
        doc = os.path.join(self.t.dir, "stale")
        os.makedirs(doc)
        for name in ("requirements.md", "traceability.md"):
            shutil.copy(os.path.join(SRCDIR, "doc", name), doc)
        with open(os.path.join(doc, "traceability.md")) as f:
            lines = f.read().splitlines(True)
        row = next(i for i, ln in enumerate(lines)
                   if ln.startswith("| CR 2.1 |"))
        del lines[row]
        with open(os.path.join(doc, "traceability.md"), "w") as f:
            f.writelines(lines)
        rc, out, err = run("--srcdir", SRCDIR, "--doc", doc, "check")
        self.assertEqual(rc, 1)
        self.assertIn("traceability.md: differs from what the tags", err)
        self.assertIn("+| CR 2.1 |", err)


class Report(unittest.TestCase):
    def setUp(self):
        self.t = Tree()

    def tearDown(self):
        self.t.close()

    def report(self, *extra):
        rc, out, err = self.t.evidence("report", "--builddir",
                                       self.t.path("build"), *extra)
        md = self.t.get("build/evidence.md")
        p = Html()
        p.feed(self.t.get("build/evidence.html"))
        return rc, out, err, md, p.rows

    def test_passed_test_proves_skip_and_fail_do_not(self):
        self.t.results(cmocka(test_one="OK", test_two="SKIPPED"), "PASS",
                       "PASS", "FAIL")
        rc, out, err, md, rows = self.report()
        self.assertEqual(rc, 0, err)
        self.assertIn("| TSF.A | A must hold | implemented | proven | "
                      "`test_a.c: test_one` pass, `x.sh` pass, `y.sh` fail "
                      "|", md)
        # its only tests skipped and failed: not proven
        self.assertIn("| TSF.B | B must hold | partial | not proven | "
                      "`test_a.c: test_two` skip, `y.sh` fail |", md)
        self.assertIn("| TSF.C | C must hold | not implemented | not "
                      "claimed | — |", md)
        self.assertIn("**Claimed but not proven in this run:** TSF.B", md)
        self.assertEqual(rows["TSF.A"][3], ["proven", "proven"])
        self.assertEqual(rows["TSF.B"][3], ["not-proven", "not proven"])
        # --strict fails the run for it
        rc, out, err, md, rows = self.report("--strict")
        self.assertEqual(rc, 1)
        self.assertIn("TSF.B: partial but not proven in this run "
                      "(test_a.c: test_two skip, y.sh fail)", err)
        self.assertNotIn("TSF.A:", err)

    def test_every_test_skipped_not_proven(self):
        self.t.results(cmocka(test_one="SKIPPED", test_two="SKIPPED"),
                       "PASS", "SKIP", "SKIP")
        rc, out, err, md, rows = self.report("--strict")
        self.assertEqual(rc, 1)
        self.assertIn("| TSF.A | A must hold | implemented | not proven |",
                      md)
        self.assertIn("3 claimed but not proven", md)

    def test_failing_test_not_proven(self):
        self.t.results(cmocka(test_one="FAILED", test_two="OK"), "FAIL",
                       "FAIL", "FAIL")
        rc, out, err, md, rows = self.report("--strict")
        self.assertEqual(rc, 1)
        self.assertIn("| TSF.A | A must hold | implemented | not proven | "
                      "`test_a.c: test_one` fail, `x.sh` fail, `y.sh` fail "
                      "|", md)
        # test_two passed, but its program failed afterwards (a leak, a
        # crash at exit): no proof from it
        self.assertIn("| TSF.B | B must hold | partial | not proven | "
                      "`test_a.c: test_two` fail, `y.sh` fail |", md)
        self.assertIn("TSF.A: implemented but not proven", err)
        self.assertIn("TSF.B: partial but not proven", err)

    def test_crashed_and_not_run_not_proven(self):
        # test_one started and never ended; test_two never started; the
        # scripts did not run at all
        self.t.results(cmocka(test_one="RUN"), "FAIL", None, None)
        rc, out, err, md, rows = self.report("--strict")
        self.assertEqual(rc, 1)
        self.assertIn("`test_a.c: test_one` fail, `x.sh` not run, `y.sh` "
                      "not run", md)
        self.assertIn("| `tests/unit/test_a.c: test_two` | not run |", md)
        self.assertIn("| TSF.A | A must hold | implemented | not proven |",
                      md)

    def test_function_named_at_run_time_takes_its_programs_result(self):
        # one function run once per case under the case's name: cmocka's
        # log does not name it, so its program's result is its own
        self.t.edit("tests/unit/test_a.c", "int\nmain", "/* Proves: "
                    "TSF.B (per case). */\nstatic void\ntest_case(void "
                    "**state)\n{\n}\n\nint\nmain")
        self.t.edit("tests/unit/test_a.c", "\treturn cmocka", "\t"
                    "tests[0].test_func = test_case;\n\treturn cmocka")
        self.t.edit("tests/unit/test_a.c", "/* Proves: TSF.B. */",
                    "/* Proves: TSF.A. */")
        self.t.edit("tests/integration/y.sh", "TSF.B (a note), ", "")
        self.t.results(cmocka(test_one="OK", test_two="OK", case1="OK"),
                       "PASS", "PASS", "PASS")
        rc, out, err, md, rows = self.report("--strict")
        self.assertEqual(rc, 0, err)
        self.assertIn("| TSF.B | B must hold | partial | proven | "
                      "`test_a.c: test_case` pass |", md)
        self.t.results(cmocka(test_one="OK", test_two="OK", case1="FAILED"),
                       "FAIL", "PASS", "PASS")
        rc, out, err, md, rows = self.report("--strict")
        self.assertEqual(rc, 1)
        self.assertIn("| TSF.B | B must hold | partial | not proven | "
                      "`test_a.c: test_case` fail |", md)

    def test_report_links_logs_and_says_run(self):
        self.t.results(cmocka(test_one="OK", test_two="OK"), "PASS",
                       "PASS", "PASS")
        rc, out, err, md, rows = self.report("--strict")
        self.assertEqual(rc, 0, err)
        self.assertIn("3 proven, 0 not proven, 2 not claimed", out)
        page = self.t.get("build/evidence.html")
        self.assertIn('href="tests/integration/x.log"', page)
        self.assertIn('href="tests/unit/test_a.log"', page)
        self.assertIn("<dt>build</dt>", page)


if __name__ == "__main__":
    r = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if r.wasSuccessful() else 1)
