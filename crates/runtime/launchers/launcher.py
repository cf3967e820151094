# Whirl Python launcher (ActionLoop over pipes).
#
# Protocol: JSON lines on stdin, one reply line per request on fd 3, stdout/stderr are the logs.
#   start: the launcher writes {"ok":true} on fd 3 as soon as it is ready (stem cell).
#   init:  {"init":{"name":..,"main":..,"dir":..,"src":..|null,"file":..|null,"env":{..}}}
#          (with "src", the code is copied from that read-only dir into "dir" first)
#          reply {"ok":true} or !{"error":".."} (developer error).
#   run:   {"value":..,"namespace":..,"action_name":..,...}
#          reply: the raw JSON result, or !{"error":".."} for a developer error.
# After every init/run the sentinel is written on stdout and stderr before the reply.
import importlib.util
import json
import os
import site
import sys

# Started with -S: add the interpreter's site-packages ourselves (without .pth processing).
for _dir in os.environ.pop("WHIRL_PYTHON_SITE", "").split(os.pathsep):
    if _dir and _dir not in sys.path:
        sys.path.append(_dir)

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
_out = os.fdopen(3, "wb")
_handler = None


def reply(text):
    _out.write(text.encode("utf-8", "surrogatepass") + b"\n")
    _out.flush()


def sentinels():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
            stream.write(SENTINEL + "\n")
            stream.flush()
        except Exception:
            pass


def developer_error(message):
    sentinels()
    reply("!" + json.dumps({"error": str(message)}, ensure_ascii=False))


def copy_code(src, directory, file):
    """Copies the code from the read-only source into the (size-capped, writable) action dir."""
    if file:
        with open(os.path.join(src, file), "rb") as f, open(os.path.join(directory, file), "wb") as t:
            t.write(f.read())
    else:
        import shutil  # only zip actions need it: keeps the launcher's start-up short

        shutil.copytree(src, directory, symlinks=True, dirs_exist_ok=True)


def load(msg):
    entry = msg.get("main") or "main"
    directory = msg["dir"]
    if msg.get("src"):
        copy_code(msg["src"], directory, msg.get("file"))
    os.chdir(directory)
    if msg.get("file"):
        filename = os.path.join(directory, msg["file"])
    else:
        filename = os.path.join(directory, "__main__.py")
        if not os.path.exists(filename):
            raise Exception("Zip file does not include __main__.py")
        import glob  # only zip actions need it: keeps the launcher's start-up short

        for packages in glob.glob(os.path.join(directory, "virtualenv", "lib", "python*", "site-packages")):
            site.addsitedir(packages)
            sys.path.remove(packages)
            sys.path.insert(0, packages)
    sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location("main__", filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules["main__"] = module
    spec.loader.exec_module(module)
    fn = getattr(module, entry, None)
    if not callable(fn):
        raise Exception("Action entrypoint '%s' is not a function." % entry)
    return fn


def init(msg):
    global _handler
    if _handler is not None:
        developer_error("Cannot initialize the action more than once.")
        return
    try:
        for k, v in (msg.get("env") or {}).items():
            os.environ[k] = v if isinstance(v, str) else json.dumps(v)
        _handler = load(msg)
    except BaseException as ex:  # noqa: B036 - report every init failure
        import traceback  # imported on first use: keeps the launcher's start-up short

        traceback.print_exc(file=sys.stderr)
        text = str(ex) if type(ex) is Exception else "%s: %s" % (type(ex).__name__, ex)
        developer_error("Initialization has failed due to: " + text)
        return
    sentinels()
    reply('{"ok":true}')


_run_keys = []


def run(msg):
    global _run_keys
    if _handler is None:
        developer_error("no action defined yet")
        return
    # Variables of the previous activation that this one lacks (api_key) must not leak.
    for k in _run_keys:
        os.environ.pop(k, None)
    _run_keys = []
    for k, v in msg.items():
        if k != "value":
            key = "__OW_" + k.upper()
            os.environ[key] = v if isinstance(v, str) else json.dumps(v)
            _run_keys.append(key)
    try:
        res = _handler(msg.get("value", {}))
    except Exception as ex:
        import traceback  # imported on first use: keeps the launcher's start-up short

        traceback.print_exc(file=sys.stderr)
        res = {"error": str(ex)}
    if not isinstance(res, (dict, list)):
        developer_error("The action did not return a dictionary or array.")
        return
    try:
        text = json.dumps(res, ensure_ascii=False, allow_nan=False)
    except Exception as ex:
        developer_error("The action did not produce a valid JSON or JSON Array response: %s" % ex)
        return
    sentinels()
    reply(text)


def main():
    # Keep the protocol stream private: the action sees /dev/null as its stdin.
    stdin = os.fdopen(os.dup(0), "rb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    reply('{"ok":true}')
    while True:
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except Exception as ex:
            developer_error("The launcher received an invalid request: %s" % ex)
            continue
        if isinstance(msg, dict) and "init" in msg:
            init(msg["init"])
        else:
            run(msg if isinstance(msg, dict) else {})


if __name__ == "__main__":
    main()
