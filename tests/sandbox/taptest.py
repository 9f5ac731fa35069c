"""taptest.py: run unittest test cases and report them as TAP.

tests/run counts "ok N - title" and "not ok N - title" lines and
wants a "1..N" plan; a failure is followed by "# " lines saying why.
A test's title is the first line of its docstring, or its method
name made into words ("test_name_is_taken" -> "name is taken"),
plus the class's tap_suffix if it has one.  Tests run in the order
they are written, class by class.

A known breakage is marked @known_breakage("reason"): while it fails
it is reported "not ok N - title # TODO reason", which tests/run
counts apart; once it passes it is a failure, so that the fix is
noticed and the mark removed.

usage, at the end of a test script:
    if __name__ == "__main__":
        taptest.main()
"""

import inspect
import sys
import traceback
import unittest


def known_breakage(reason):
    """Mark a test as a known breakage, with the reason."""
    def mark(func):
        func.tap_todo = reason
        return unittest.expectedFailure(func)
    return mark


def title(test):
    """The sentence a test is reported under."""
    method = getattr(test, test._testMethodName, None)
    doc = (getattr(method, "__doc__", None) or "").strip()
    text = doc.splitlines()[0] if doc else \
        test._testMethodName[len("test"):].replace("_", " ").strip()
    suffix = getattr(test, "tap_suffix", "")
    return "%s%s" % (text.rstrip("."), suffix)


class TapResult(unittest.TestResult):
    """A TestResult that prints one TAP line per test as it ends."""

    def __init__(self, out):
        super().__init__()
        self.out = out
        self.count = 0
        self.bad = 0
        self.pending = None

    def _emit(self, ok, name, directive="", diag=""):
        """Print one numbered TAP line and its diagnostics."""
        self.count += 1
        if not ok and not directive:
            self.bad += 1
        line = "%s %d - %s" % ("ok" if ok else "not ok", self.count, name)
        if directive:
            line += " # " + directive
        print(line, file=self.out)
        for text in diag.rstrip("\n").splitlines():
            print("# " + text, file=self.out)
        self.out.flush()

    def startTest(self, test):
        super().startTest(test)
        self.pending = {"ok": True, "directive": "", "diag": ""}

    def stopTest(self, test):
        super().stopTest(test)
        state, self.pending = self.pending, None
        self._emit(state["ok"], title(test), state["directive"],
                   state["diag"])

    def _fail(self, test, err, where=""):
        """Record a failure or error of the running test (or fixture)."""
        text = where + "".join(traceback.format_exception(*err))
        if self.pending is None:  # a class or module fixture broke
            self._emit(False, str(test), diag=text)
            return
        self.pending["ok"] = False
        self.pending["diag"] += text

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._fail(test, err, "in %s:\n" % subtest._subDescription())

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.pending["directive"] = "SKIP " + reason

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        method = getattr(test, test._testMethodName)
        self.pending["ok"] = False
        self.pending["directive"] = "TODO " + getattr(
            method, "tap_todo", "known breakage")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.pending["ok"] = False
        self.pending["diag"] = ("known breakage vanished: remove its "
                                "known_breakage mark\n")


def load(module):
    """The module's test cases as one suite, in source order.

    A module's namespace keeps the order in which names were bound,
    which for classes is the order they are written in.
    """
    classes = [c for c in vars(module).values()
               if inspect.isclass(c) and issubclass(c, unittest.TestCase)
               and c.__module__ == module.__name__]
    suite = unittest.TestSuite()
    for cls in classes:
        names = [n for c in reversed(cls.__mro__) for n in vars(c)
                 if n.startswith("test") and callable(getattr(cls, n))]
        seen = []
        for name in names:
            if name not in seen:
                seen.append(name)
        suite.addTests(cls(n) for n in seen)
    return suite


def main(module_name="__main__"):
    """Run the tests of module_name, print TAP, exit 1 on failure."""
    result = TapResult(sys.stdout)
    load(sys.modules[module_name]).run(result)
    print("1..%d" % result.count)
    sys.stdout.flush()
    sys.exit(1 if result.bad else 0)
