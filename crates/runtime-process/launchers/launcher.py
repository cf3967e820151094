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
import os
import select
import sys


def _json_codec():
    """Returns (loads, dumps). The json module imports re, enum and collections, about 5 ms of
    every cold start; the C accelerator it wraps (_json) needs none of them, so the launcher
    drives _json directly the way json.decoder and json.encoder do, and falls back to json when
    this interpreter has no _json."""
    try:
        import _json

        constants = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}

        class Context:
            strict = True
            object_hook = None
            object_pairs_hook = None
            parse_float = float
            parse_int = int
            parse_constant = constants.__getitem__

        scan = _json.make_scanner(Context())
        make_encoder = _json.make_encoder
        plain, to_ascii = _json.encode_basestring, _json.encode_basestring_ascii
    except (ImportError, AttributeError):
        import json

        return json.loads, json.dumps

    def loads(text):
        if not isinstance(text, str):
            text = bytes(text).decode("utf-8", "surrogatepass")
        text = text.strip(" \t\n\r")
        try:
            value, end = scan(text, 0)
        except StopIteration as e:
            raise ValueError("Expecting value: char %d" % e.value) from None
        if end != len(text):
            raise ValueError("Extra data: char %d" % end)
        return value

    def default(o):
        raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)

    def dumps(value, ensure_ascii=True, allow_nan=True):
        encode = make_encoder({}, default, to_ascii if ensure_ascii else plain, None, ": ", ", ", False, False, allow_nan)
        return "".join(encode(value, 0))

    return loads, dumps


json_loads, json_dumps = _json_codec()

# Started with -S: add the interpreter's site-packages ourselves (without .pth processing).
for _dir in os.environ.pop("WHIRL_PYTHON_SITE", "").split(os.pathsep):
    if _dir and _dir not in sys.path:
        sys.path.append(_dir)

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
_out = os.fdopen(3, "wb")
_handler = None
# Warm up only if no request came this long after the ready line.
WARM_UP_AFTER_S = 0.01


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
    reply("!" + json_dumps({"error": str(message)}, ensure_ascii=False))


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
        import glob  # only zip actions need these: keeps the launcher's start-up short
        import site

        for packages in glob.glob(os.path.join(directory, "virtualenv", "lib", "python*", "site-packages")):
            site.addsitedir(packages)
            sys.path.remove(packages)
            sys.path.insert(0, packages)
    sys.path.insert(0, directory)
    # What importlib's exec_module does for a source file, without importing importlib.util
    # (its import costs about 2 ms of every cold start).
    with open(filename, "rb") as f:
        code = compile(f.read(), filename, "exec", dont_inherit=True)
    module = type(sys)("main__")
    module.__file__ = filename
    sys.modules["main__"] = module
    exec(code, module.__dict__)
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
            os.environ[k] = v if isinstance(v, str) else json_dumps(v)
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
            os.environ[key] = v if isinstance(v, str) else json_dumps(v)
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
        text = json_dumps(res, ensure_ascii=False, allow_nan=False)
    except Exception as ex:
        developer_error("The action did not produce a valid JSON or JSON Array response: %s" % ex)
        return
    sentinels()
    reply(text)


def warm_up():
    """The first compile() of a process costs 1-2 ms (the compiler's one-time set-up). An idle
    launcher (a stem cell) pays it, and the result path, ahead of the first init; when the init is
    already on its way (a cold start) it would only add to it, hence WARM_UP_AFTER_S."""
    try:
        scope = {}
        exec(compile("def main(args):\n    return {'a': [1, 'x', None]}\n", "<warm-up>", "exec"), scope)
        json_dumps(scope["main"](json_loads('{"x": 1}')), ensure_ascii=False, allow_nan=False)
    except Exception:  # noqa: BLE001 - only an optimisation: real requests do not depend on it
        pass


def main():
    # Keep the protocol stream private: the action sees /dev/null as its stdin.
    stdin = os.fdopen(os.dup(0), "rb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    reply('{"ok":true}')
    if not select.select([stdin], [], [], WARM_UP_AFTER_S)[0]:
        warm_up()
    while True:
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        try:
            msg = json_loads(line)
        except Exception as ex:
            developer_error("The launcher received an invalid request: %s" % ex)
            continue
        if isinstance(msg, dict) and "init" in msg:
            init(msg["init"])
        else:
            run(msg if isinstance(msg, dict) else {})


if __name__ == "__main__":
    main()
