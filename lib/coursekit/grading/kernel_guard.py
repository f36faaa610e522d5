"""Code the grader runs *inside each question's kernel*, before any learner code.

Sent as text by the worker and executed in a namespace of its own (this module is never
imported by the grader itself; nothing of it is left in ``sys.modules`` or ``user_ns``).
``_install`` reads a per-kernel key from a pipe (so the key is in no source text), snapshots
what tests rely on, and installs a PEP 578 audit hook, which CPython offers no way to remove.
From then on the hook is the grader's trusted agent in the kernel:

* **arm** (``sys.audit("coursekit.arm")``, sent after the learner's last cell): puts back what
  the learner's code changed — every module's namespace (private names too), the attributes of
  classes, the code, defaults and closures of functions, builtins, ``sys.modules``, import
  hooks, trace and profile functions, IPython's AST and input transformers, its event
  callbacks, the shell's and kernel's methods, the instructor's helpers in ``user_ns`` — and
  refuses (reports) a background thread that is still running learner code.
* **done**: each test segment the worker sends ends with ``sys.audit("coursekit.done", TAG)``
  where ``TAG`` is a keyed hash of the segment's source. The hook accepts it only if that exact
  source was compiled (checked when IPython parses the cell) and the call comes from the top
  level of that cell, run by IPython's own ``run_code`` on the main thread — not from a function
  the test called. It then re-checks that nothing was changed while the test ran and writes
  ``done TAG MAC`` to the report pipe. The worker counts a segment as passed only with a valid
  MAC, which needs the key.
* **tamper**: events through which learner code could reach the hook's state or rewrite the
  interpreter (``gc.get_objects``/``get_referrers``/``get_referents``, ``sys.settrace``,
  ``sys.setprofile``, ``sys._current_frames``, any ``ctypes`` call, opening ``/proc/*/mem``,
  adding another audit hook, or any audited event while the hook itself is running) are reported
  at once, before they take effect, on the report pipe; the worker scores the question 0 and says
  why. If the pipe was closed or replaced, the hook stops the kernel instead.

*Learner code* is code compiled, before the arm step, from a source the hook did not verify (the
answer cells and anything they ``compile``/``exec``), recognised by its filename. gc and trace or
profile functions count against the learner when its code called them itself (hypothesis, for
one, uses both for its own ends inside a test); ctypes, process memory, other threads' frames and
audit hooks count whenever a learner's frame is on the stack. At the end of a test only changes to
values a learner's code made count, since libraries and the test itself change module state too.

What CPython cannot close is therefore detected, not trusted: see lib/coursekit/grading/README.md.
"""


def _install(key_fd, report_fd, modules, sockets, user_ns, shell):  # noqa: C901 - one closure on purpose
    import gc
    import hashlib
    import importlib
    import os
    import signal
    import sys
    import types

    # IPython's tracebacks and pyzmq's large-message thread are loaded lazily: load them now, so
    # they are the snapshotted originals (and that thread counts as the library's own)
    for name in [*modules, "pygments.formatters.terminal256", "zmq.utils.garbage"]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the test cell will report it
            pass
    try:
        import ctypes  # noqa: F401 - loaded now, so a library loading it later raises no event

        libc = ctypes.CDLL(None)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no other process reads this one's memory
    except Exception:  # noqa: BLE001
        pass
    if sockets:
        _install_socket_guard()

    key = os.read(key_fd, 64)
    os.close(key_fd)
    _blake = hashlib.blake2b
    _write, _fstat, _exit, _getframe = os.write, os.fstat, os._exit, sys._getframe
    _current_frames, _get_ident = sys._current_frames, __import__("_thread").get_ident
    _sigmask, _all_signals = signal.pthread_sigmask, signal.valid_signals()
    _gc_enabled, _gc_disable, _gc_enable = gc.isenabled, gc.disable, gc.enable
    report_ino = _fstat(report_fd).st_ino
    main_ident = _get_ident()
    FunctionType, ModuleType, CellType = types.FunctionType, types.ModuleType, types.CellType
    _mod_dict = ModuleType.__dict__["__dict__"].__get__
    _type_dict = type.__dict__["__dict__"].__get__
    _type_setattr, _type_delattr = type.__setattr__, type.__delattr__
    _obj_setattr = object.__setattr__
    _code_get = FunctionType.__dict__["__code__"].__get__
    _code_set = FunctionType.__dict__["__code__"].__set__
    _defaults = FunctionType.__dict__["__defaults__"]
    _kwdefaults = FunctionType.__dict__["__kwdefaults__"]
    _cell = CellType.__dict__["cell_contents"]
    IMMUTABLE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE
    run_code_code = type(shell).run_code.__code__
    graveyard = []  # whatever a restore replaces stays alive: no __del__ runs inside the hook

    def mac(text):
        return _blake(text.encode(), key=key, digest_size=16).hexdigest()

    def report(line):
        """One authenticated line to the worker: ``KIND TEXT MAC``."""
        line = line.replace("\n", " ")[:2000]
        try:
            if _fstat(report_fd).st_ino != report_ino:
                raise OSError("replaced")
            _write(report_fd, (line + " " + mac(line) + "\n").encode())
        except BaseException:  # noqa: BLE001 - the channel is gone: trust nothing that follows
            _exit(86)

    # -- snapshots ---------------------------------------------------------------------------
    def fn_snap(f):
        cl = f.__closure__ or ()
        contents = []
        for c in cl:
            try:
                contents.append(_cell.__get__(c))
            except ValueError:
                contents.append(_cell)  # empty cell
        return (f, _code_get(f), _defaults.__get__(f), _kwdefaults.__get__(f), cl, contents)

    funcs = {}   # id -> fn_snap
    classes = {}  # id -> (cls, dict copy)
    mods = {}    # name -> (module, dict copy)

    def walk_value(v, depth=0):
        if type(v) is FunctionType:
            if id(v) not in funcs:
                funcs[id(v)] = fn_snap(v)
        elif isinstance(v, (staticmethod, classmethod)):
            walk_value(v.__func__, depth)
        elif isinstance(v, property):
            for f in (v.fget, v.fset, v.fdel):
                walk_value(f, depth)
        elif isinstance(v, type) and not (v.__flags__ & IMMUTABLE) and id(v) not in classes and depth < 4:
            d = {k: x for k, x in _type_dict(v).items() if tracked(x)}
            classes[id(v)] = (v, d)
            for x in d.values():
                walk_value(x, depth + 1)

    def tracked(v):
        """Values a test could call through: functions, classes, modules, methods, descriptors."""
        return callable(v) or isinstance(v, (ModuleType, property, staticmethod, classmethod))

    def snap_module(name, mod):
        d = _mod_dict(mod)
        mods[name] = (mod, {k: v for k, v in d.items() if tracked(v)})
        for v in list(d.values()):
            if getattr(v, "__module__", None) == name or type(v) is FunctionType:
                walk_value(v)

    tv = shell._trait_values
    itm = shell.input_transformer_manager
    snap_modules_table, sys_lists, sys_attrs, traits, itm_lists, callbacks = {}, {}, {}, {}, {}, {}
    obj_dicts = []

    def take_snapshot():
        """What tests rely on, as it is now (at install, and after the notebook's own cells that
        ran before any learner cell in this kernel)."""
        for table in (mods, classes, funcs, snap_modules_table, sys_lists, sys_attrs, traits, itm_lists,
                      callbacks):
            table.clear()
        for name, mod in list(sys.modules.items()):
            if type(mod) is ModuleType and name not in ("__main__", "sys"):
                try:
                    snap_module(name, mod)
                except Exception:  # noqa: BLE001 - an odd module is simply not guarded
                    pass
        snap_modules_table.update(sys.modules)
        sys_lists.update({n: (getattr(sys, n), list(getattr(sys, n))) for n in ("meta_path", "path_hooks", "path")})
        sys_attrs.update({n: getattr(sys, n) for n in ("displayhook", "excepthook", "breakpointhook",
                                                       "unraisablehook") if hasattr(sys, n)})
        traits.update({n: (tv[n], list(tv[n])) for n in ("ast_transformers", "input_transformers_post",
                                                        "input_transformers_cleanup") if isinstance(tv.get(n), list)})
        itm_lists.update({n: (getattr(itm, n), list(getattr(itm, n))) for n in (
            "cleanup_transforms", "line_transforms", "token_transformers") if isinstance(getattr(itm, n, None), list)})
        objects = [("get_ipython()", shell), ("get_ipython().kernel", shell.kernel),
                   ("get_ipython().kernel.session", getattr(shell.kernel, "session", None)),
                   ("get_ipython().compile", shell.compile), ("get_ipython().input_transformer_manager", itm),
                   ("get_ipython().events", shell.events), ("get_ipython().displayhook", shell.displayhook),
                   ("get_ipython().display_pub", shell.display_pub)]
        obj_dicts[:] = [(label, o, dict(o.__dict__)) for label, o in objects
                        if o is not None and hasattr(o, "__dict__")]
        callbacks.update({k: list(v) for k, v in shell.events.callbacks.items()})

    take_snapshot()
    bound = {}  # user_ns name -> value the instructor's cell bound
    state = {"busy": False, "own": 0, "armed": False, "verified": {}, "seen_tamper": set()}
    learner_files = set()  # filenames of code compiled from sources the hook did not verify, before arm

    # -- restore -----------------------------------------------------------------------------
    def restore(apply, learner_only=False):
        """Put back (or with apply=False only list) what differs from the snapshots.

        With ``learner_only``, list only differences whose new value a learner's code made (at the
        end of a test: libraries and the test itself change things too)."""
        changed = []
        current = [None]

        def put(label, setter):
            if learner_only and not is_learner(current[0]):
                return
            changed.append(label)
            if apply:
                setter()

        for name, (mod, snap) in mods.items():
            if name.startswith("_cython_"):  # shared by every Cython module, rebound as they load
                continue
            d = _mod_dict(mod)
            current[0] = None
            if type(mod) is not ModuleType:
                put(f"{name}.__class__", lambda m=mod: _obj_setattr(m, "__class__", ModuleType))
            for k, v in snap.items():
                cur = current[0] = d.get(k, graveyard)
                if cur is not v and not (type(cur) is types.MethodType and type(v) is types.MethodType
                                         and cur.__self__ is v.__self__ and cur.__func__ is v.__func__):
                    graveyard.append(cur)
                    put(k if name == "builtins" else f"{name}.{k}", lambda d=d, k=k, v=v: d.__setitem__(k, v))
            for k in [k for k in d if k not in snap and tracked(d[k]) and k == "__getattr__"]:
                graveyard.append(d[k])  # a module-level __getattr__ would answer for missing names
                put(f"{name}.{k}", lambda d=d, k=k: d.pop(k, None))
            current[0] = None
            if name in snap_modules_table and sys.modules.get(name) is not mod:
                graveyard.append(sys.modules.get(name))
                put(f"sys.modules[{name!r}]", lambda n=name, m=mod: sys.modules.__setitem__(n, m))
        for cls, snap in classes.values():
            d = _type_dict(cls)
            for k, v in snap.items():
                if k in ("__dict__", "__weakref__", "__doc__", "__abstractmethods__", "_abc_impl"):
                    continue
                current[0] = d.get(k, graveyard)
                if current[0] is not v:
                    graveyard.append(d.get(k))
                    put(f"{cls.__module__}.{cls.__qualname__}.{k}", lambda c=cls, k=k, v=v: _type_setattr(c, k, v))
            for k in [k for k in d if k not in snap and tracked(d[k]) and not k.startswith("_abc")]:
                current[0] = d[k]
                graveyard.append(d[k])
                put(f"{cls.__module__}.{cls.__qualname__}.{k}", lambda c=cls, k=k: _type_delattr(c, k))
        for f, code, dflt, kw, cl, contents in funcs.values():
            label = f"{getattr(f, '__module__', '?')}.{f.__qualname__}"
            current[0] = _code_get(f)
            if current[0] is not code:
                graveyard.append(_code_get(f))
                put(label, lambda f=f, c=code: _code_set(f, c))
            if _defaults.__get__(f) is not dflt or _kwdefaults.__get__(f) is not kw:
                put(label, lambda f=f, a=dflt, b=kw: (_defaults.__set__(f, a), _kwdefaults.__set__(f, b)))
            for c, v in zip(cl, contents):
                try:
                    cur = _cell.__get__(c)
                except ValueError:
                    cur = _cell
                current[0] = cur
                if cur is not v and v is not _cell:
                    graveyard.append(cur)
                    put(label, lambda c=c, v=v: _cell.__set__(c, v))
        for n, v in bound.items():
            current[0] = user_ns.get(n, graveyard)
            if current[0] is not v:
                graveyard.append(user_ns.get(n))
                put(n, lambda n=n, v=v: user_ns.__setitem__(n, v))
        current[0] = None
        for n, (lst, items) in list(sys_lists.items()) + list(traits.items()) + list(itm_lists.items()):
            owner = sys if n in sys_lists else (tv if n in traits else None)
            if owner is sys and getattr(sys, n) is not lst:
                put(f"sys.{n}", lambda n=n, lst=lst: setattr(sys, n, lst))
            if owner is tv and tv.get(n) is not lst:
                put(f"get_ipython().{n}", lambda n=n, lst=lst: tv.__setitem__(n, lst))
            if owner is None and getattr(itm, n, None) is not lst:
                put(f"input transformers ({n})", lambda n=n, lst=lst: _obj_setattr(itm, n, lst))
            # the originals, in order, plus what a library (not a learner) added since
            want = list(items) + [x for x in lst if not any(x is y for y in items) and not is_learner(x)]
            if len(lst) != len(want) or any(a is not b for a, b in zip(lst, want)):
                label = f"sys.{n}" if owner is sys else f"IPython's {n.replace('_', ' ')}"
                put(label, lambda lst=lst, want=want: lst.__setitem__(slice(None), want))
        for n, v in sys_attrs.items():
            if getattr(sys, n, None) is not v and not (n == "excepthook" and getattr(sys, n, None).__class__
                                                       is types.MethodType):
                put(f"sys.{n}", lambda n=n, v=v: setattr(sys, n, v))
        for olabel, o, snap in obj_dicts:
            d = o.__dict__
            for k in [k for k in d if k not in snap and callable(d[k]) and callable(getattr(type(o), k, None))]:
                current[0] = d[k]
                graveyard.append(d[k])
                put(f"{olabel}.{k}", lambda d=d, k=k: d.pop(k, None))
            for k, v in snap.items():
                current[0] = d.get(k)
                if k in d and d[k] is not v and (callable(v) or k in ("compile", "user_ns", "events", "kernel",
                                                                       "input_transformer_manager", "session")):
                    graveyard.append(d[k])
                    put(f"{olabel}.{k}", lambda d=d, k=k, v=v: d.__setitem__(k, v))
        current[0] = None
        cbs = shell.events.callbacks
        for k, v in callbacks.items():
            cur = cbs.get(k) or []
            want = list(v) + [x for x in cur if not any(x is y for y in v) and not is_learner(x)]
            if len(cur) != len(want) or any(a is not b for a, b in zip(cur, want)):
                put(f"IPython's {k} event callbacks", lambda k=k, want=want: cbs.__setitem__(k, want))
        return sorted(set(changed))

    def is_learner(v):
        """Was ``v`` made by code the hook did not verify (a learner's cell, or code it compiled)?"""
        if v is None:
            return False
        f = v.__func__ if type(v) is types.MethodType else v
        if type(f) is FunctionType:
            return _code_get(f).co_filename in learner_files
        if type(f) is type(_code_get(mac)):
            return f.co_filename in learner_files
        if not isinstance(f, type):
            f = type(f)  # an instance: made by a learner when its class was
        return any(type(x) is FunctionType and _code_get(x).co_filename in learner_files
                   for c in f.__mro__ for x in list(_type_dict(c).values()))

    def stack_origin():
        """(the code that called the audited function is a learner's, a learner's frame is on the stack)."""
        state["own"] += 1
        try:
            fr = _getframe(3)  # 0 this function, 1 check_event, 2 hook, 3 the audited function's caller
        finally:
            state["own"] -= 1
        immediate = fr.f_code.co_filename in learner_files
        anywhere, f = immediate, fr
        while f is not None and not anywhere:
            anywhere = f.f_code.co_filename in learner_files
            f = f.f_back
        del fr, f
        return immediate, anywhere

    def live_threads():
        """Threads other than the main one with learner code on their stack."""
        state["own"] += 1
        try:
            frames = _current_frames()
        finally:
            state["own"] -= 1
        out = []
        for ident, fr in frames.items():
            if ident == main_ident:
                continue
            f = fr
            while f is not None:
                if f.f_code.co_filename in learner_files:
                    out.append(ident)
                    break
                f = f.f_back
        del frames
        return out

    # -- the hook ----------------------------------------------------------------------------
    TAMPER = {
        "gc.get_objects": "looked through the interpreter's objects (gc.get_objects)",
        "gc.get_referrers": "looked through the interpreter's objects (gc.get_referrers)",
        "gc.get_referents": "looked through the interpreter's objects (gc.get_referents)",
        "sys.settrace": "installed a trace function (sys.settrace), which can change how tests run",
        "sys.setprofile": "installed a profile function (sys.setprofile), which can change how tests run",
        "sys._current_frames": "read the frames of other threads (sys._current_frames)",
        "sys.addaudithook": "tried to add an audit hook",
    }

    FRAME_ATTRS = ("tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back")

    def tamper(why):
        if why not in state["seen_tamper"]:
            state["seen_tamper"].add(why)
            report("tamper " + why)

    def caller_is_cell_top(kind):
        """Called from the top level of a cell whose exact source the hook verified?"""
        state["own"] += 1
        try:
            fr = _getframe(3)  # 0 this function, 1 handle, 2 hook, 3 the code that called sys.audit
        finally:
            state["own"] -= 1
        code = fr.f_code
        tag = state["verified"].get(code.co_filename)
        if tag is None or code.co_name != "<module>" or _get_ident() != main_ident:
            return None
        if fr.f_back is None or fr.f_back.f_code is not run_code_code:
            return None
        f = fr.f_back
        while f is not None:  # not re-entered from a function that this very cell called
            if f.f_code.co_filename == code.co_filename:
                return None
            f = f.f_back
        return tag, fr

    def on_compile(args):
        src = args[0] if args else None  # CPython passes the source as UTF-8 bytes
        filename = args[1] if len(args) > 1 else None
        if type(filename) is bytes:
            filename = filename.decode("utf-8", "replace")
        if not state["armed"] and type(filename) is str and filename not in state["verified"]:
            learner_files.add(filename)  # taken back below if the source verifies
        if type(src) is bytes and b"coursekit." in src:
            src = src.decode("utf-8", "replace")
        if type(src) is not str or "coursekit." not in src:
            return
        body, _, last = src.rstrip("\n").rpartition("\n")
        if not last.startswith('__import__("sys").audit("coursekit.'):
            return
        parts = last.split('"')
        if len(parts) < 6:
            return
        tag = parts[5]
        if mac(body.strip("\n")) == tag and type(filename) is str:
            state["verified"][filename] = tag
            learner_files.discard(filename)

    def hook(event, args):
        if state["own"]:
            return
        if state["busy"]:  # our own work raises events too (reading __code__); a frame grab is never ours
            if event in TAMPER or event == "sys._getframe" or (
                    event == "object.__getattr__" and len(args) > 1 and args[1] in FRAME_ATTRS):
                state["busy"] = False
                tamper("ran code inside the grader's own check")
                state["busy"] = True
            return
        if event == "compile":
            on_compile(args)
            return
        if event.startswith("coursekit."):
            handle(event, args)
            return
        if check_event(event, args) and event == "sys.addaudithook":
            raise RuntimeError("blocked")  # suppressed by CPython: the new hook is not added

    def check_event(event, args):
        """Report ``event`` if learner code caused it and it can reach the guard or rewrite the interpreter.

        gc and trace/profile functions count when a learner's code called them itself (a library
        such as hypothesis uses them for its own ends); ctypes, process memory, other threads'
        frames and audit hooks count when a learner's frame is anywhere on the stack."""
        why = TAMPER.get(event)
        direct = why is not None and not event.startswith(("sys._current", "sys.addaudit"))
        if why is None:
            if event.startswith("ctypes."):
                why = "called C code through ctypes, which can rewrite the interpreter"
            elif event == "open" and args and type(args[0]) in (str, bytes):
                p = args[0] if type(args[0]) is str else args[0].decode(errors="replace")
                if p.rstrip("/").rsplit("/", 1)[-1] == "mem":  # /proc/…/mem, or "mem" under a dir_fd
                    why = "opened a process's memory (/proc/…/mem)"
        if why is None:
            return False
        immediate, anywhere = stack_origin()
        if immediate if direct else anywhere:
            tamper(why)
            return True
        return False

    def handle(event, args):
        old = _sigmask(signal.SIG_BLOCK, _all_signals)
        gc_was = _gc_enabled()
        _gc_disable()
        state["busy"] = True
        try:
            if event == "coursekit.arm":
                state["armed"] = True
                changed = restore(True)
                report("restored " + "\t".join(changed) if changed else "restored")
                if live_threads():
                    tamper("left a background thread running when the tests started; Python cannot stop "
                           "a thread from outside, so the grader cannot trust what the tests saw")
            elif event in ("coursekit.done", "coursekit.bind") and args and type(args[0]) is str:
                top = caller_is_cell_top(event)
                if top is None or top[0] != args[0]:
                    return
                tag, fr = top
                if event == "coursekit.bind":
                    names = args[1] if len(args) > 1 and type(args[1]) is tuple else ()
                    if len(args) > 2 and args[2] is True and not state["armed"]:
                        take_snapshot()  # the notebook's own cell ran before any learner cell
                    for n in names:
                        if type(n) is str and n in user_ns:
                            v = user_ns[n]
                            bound[n] = v
                            walk_value(v)
                            if type(v) is ModuleType and v.__name__ not in mods:
                                snap_module(v.__name__, v)
                    report(f"bound {tag}")
                    return
                if not state["armed"]:
                    return
                changed = restore(False, learner_only=True)
                if changed:
                    # no names: after the arm step, nothing learner-chosen goes into a report
                    tamper("changed functions, classes or modules the tests use while the tests ran")
                elif live_threads():
                    tamper("left a background thread running while the tests ran")
                else:
                    report(f"done {tag}")
                del fr
        except BaseException as exc:  # noqa: BLE001 - never let an exception carry this frame out
            report("tamper made the grader's own check fail")
        finally:
            state["busy"] = False
            if gc_was:
                _gc_enable()
            _sigmask(signal.SIG_SETMASK, old)

    sys.addaudithook(hook)


def _install_socket_guard():
    """Fallback network guard: no TCP/UDP except to ports this kernel bound itself."""
    import socket as _socket

    bound = set()
    orig_bind, orig_connect, orig_connect_ex = _socket.socket.bind, _socket.socket.connect, _socket.socket.connect_ex
    orig_sendto = _socket.socket.sendto

    def _allowed(sock, address):
        if sock.family not in (_socket.AF_INET, _socket.AF_INET6):
            return True
        try:
            host, port = address[0], address[1]
        except (TypeError, IndexError):
            return False
        return host in ("127.0.0.1", "::1", "localhost") and port in bound

    def bind(self, address):
        orig_bind(self, address)
        try:
            bound.add(self.getsockname()[1])
        except (OSError, IndexError, TypeError):
            pass

    def connect(self, address):
        if not _allowed(self, address):
            raise ConnectionRefusedError(111, "network access is disabled while grading")
        return orig_connect(self, address)

    def connect_ex(self, address):
        if not _allowed(self, address):
            return 111
        return orig_connect_ex(self, address)

    def sendto(self, data, *args):
        if not _allowed(self, args[-1]):
            raise ConnectionRefusedError(111, "network access is disabled while grading")
        return orig_sendto(self, data, *args)

    _socket.socket.bind, _socket.socket.connect, _socket.socket.connect_ex = bind, connect, connect_ex
    _socket.socket.sendto = sendto
