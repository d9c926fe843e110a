"""Shared by the end-to-end scripts: counted checks, expected AWS errors, git through the
`aws codecommit credential-helper`, and the closing line the test runner looks for."""

import os
import subprocess
import sys
import tempfile

from botocore.exceptions import ClientError

checks = 0


def check(cond, what):
    """Counts a passed check; stops the script on a failed one."""
    global checks
    if not cond:
        print("FAILED:", what)
        sys.exit(1)
    checks += 1


def expect_error(code, fn, *args, **kwargs):
    """Calls `fn` and checks it fails with the AWS error `code`; returns the error."""
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        check(got == code, f"{fn.__name__}: expected {code}, got {got}: {e}")
        return e
    check(False, f"{fn.__name__}: expected {code}, got success")


def git_raw(*args, cwd=None, input=None):
    """Runs git with the AWS credential helper and a fixed identity; returns standard output."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", HOME=tempfile.gettempdir())
    helper = ["-c", "credential.helper=!aws codecommit credential-helper --ignore-host-check $@", "-c", "credential.UseHttpPath=true"]
    ident = ["-c", "user.name=Boto Test", "-c", "user.email=boto@example.com", "-c", "init.defaultBranch=main"]
    return subprocess.run(["git", *helper, *ident, *args], cwd=cwd, env=env, input=input, capture_output=True, check=True).stdout


def git(*args, cwd=None, input=None):
    """Like `git_raw`, decoded."""
    return git_raw(*args, cwd=cwd, input=input).decode()


def done():
    print(f"{checks} passed, 0 failed")
