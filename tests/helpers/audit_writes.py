"""Run `hagent` with every file write recorded: `python audit_writes.py AUDIT_DIR hagent-args...`.
HAGENT_TEST_STOP_AT=N in the environment interrupts training when batch N is fetched.

Used as torchrun's script by tests/test_distributed.py. Before hagent is imported it wraps the
ways hagent writes files (open for writing, mkstemp, mkdtemp, mkdir, rename/replace, safetensors'
save_file); at exit this process's list goes to AUDIT_DIR/rank<RANK>.json.
"""

import atexit
import builtins
import io
import json
import os
import sys
import tempfile

import safetensors.torch

audit_dir, argv = sys.argv[1], sys.argv[2:]
written: list[list[str]] = []
_open, _mkstemp, _mkdtemp, _mkdir, _replace, _rename, _save = (
    builtins.open, tempfile.mkstemp, tempfile.mkdtemp, os.mkdir, os.replace, os.rename, safetensors.torch.save_file,
)


def _note(kind: str, path) -> None:
    written.append([kind, os.fspath(path) if not isinstance(path, int) else f"fd {path}"])


def audited_open(file, mode="r", *args, **kwargs):
    if any(c in mode for c in "wax+"):
        _note("open", file)
    return _open(file, mode, *args, **kwargs)


def audited_mkstemp(*args, **kwargs):
    fd, path = _mkstemp(*args, **kwargs)
    _note("mkstemp", path)
    return fd, path


def audited_mkdtemp(*args, **kwargs):
    path = _mkdtemp(*args, **kwargs)
    _note("mkdtemp", path)
    return path


def audited_mkdir(path, *args, **kwargs):
    _note("mkdir", path)
    return _mkdir(path, *args, **kwargs)


def audited_replace(src, dst, *args, **kwargs):
    _note("replace", dst)
    return _replace(src, dst, *args, **kwargs)


def audited_rename(src, dst, *args, **kwargs):
    _note("rename", dst)
    return _rename(src, dst, *args, **kwargs)


def audited_save(tensors, filename, *args, **kwargs):
    _note("save_file", filename)
    return _save(tensors, filename, *args, **kwargs)


builtins.open = io.open = audited_open  # pathlib's write_text and open go through io.open
tempfile.mkstemp, tempfile.mkdtemp, os.mkdir, os.replace, os.rename = (
    audited_mkstemp, audited_mkdtemp, audited_mkdir, audited_replace, audited_rename,
)
safetensors.torch.save_file = audited_save


@atexit.register
def _report() -> None:
    with _open(os.path.join(audit_dir, f"rank{os.environ.get('RANK', '0')}.json"), "w") as f:
        json.dump(written, f)


from hagent.cli import main  # noqa: E402  (after the wrapping, so hagent binds the audited functions)

if os.environ.get("HAGENT_TEST_STOP_AT"):  # as if ctrl+c reached every rank while that batch was fetched
    import hagent.training.pipeline as train_module

    stop, real = int(os.environ["HAGENT_TEST_STOP_AT"]), train_module._mixed_batches

    def interrupted(*args, **kwargs):
        for i, batch in enumerate(real(*args, **kwargs)):
            if i == stop:
                raise KeyboardInterrupt
            yield batch

    train_module._mixed_batches = interrupted

sys.exit(main(argv))
