"""The import environment of a Python worker, for python_worker.py (which loads this file
under a private name). Lambda's sys.path is the code root, then layers, then the runtime's
packages, among them boto3 and botocore; see docs/runtimes.md, "Import environment"."""

import importlib.machinery
import os
import sys


class ImportGuard:
    """Keeps router's own dependencies out of the handler's view, where router and the project
    share one interpreter (so one site-packages, which cannot be told apart). First on
    sys.meta_path, for the top-level modules only router's dependencies provide: the code root
    first (a folder there, even without __init__.py, is what Lambda imports, not a module of
    router's of the same name, e.g. pytest's py.py), else the import goes on as usual, with a
    warning (once per module and worker) when the handler's own code asked for it."""

    def __init__(self, task_root, router_only, layers=()):
        self.task_root = os.path.join(os.path.realpath(task_root), "")
        self.router_only = router_only
        self.own = [self.task_root, *layers]  # where the function's own copy may be
        self.warned = set()

    def find_spec(self, name, path=None, target=None):
        if path is not None or name not in self.router_only:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, self.own)
        if spec is not None and spec.origin is None and not _has_python(spec.submodule_search_locations):
            spec = None  # a folder of data, not a namespace package: the installed module is meant
        if spec is None and name not in self.warned and self._asked_by_user_code():
            self.warned.add(name)
            dist = self.router_only[name]
            sys.stderr.write(
                f"router: WARNING: the function imports {name!r} ({dist}), one of router's own dependencies "
                f"in this shared interpreter: unless the project installs {dist} itself, the import fails on "
                "Lambda (Runtime.ImportModuleError). Add it to the project's requirements, or install router "
                "as a tool (pipx / uv tool) and set settings.python to the project's interpreter "
                "(docs/runtimes.md, Import environment).\n"
            )
        return spec

    def _asked_by_user_code(self):
        frame = sys._getframe(2)  # past this method and find_spec
        while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
            frame = frame.f_back
        if frame is None:
            return False
        return os.path.realpath(frame.f_code.co_filename).startswith(self.task_root)


def _has_python(folders):
    for folder in folders or ():
        try:
            if any(entry.endswith(".py") or "." not in entry for entry in os.listdir(folder)):
                return True
        except OSError:
            pass
    return False


class ProvidedSdk:
    """Last on sys.meta_path, where the project's interpreter is not router's: boto3, botocore
    and what they need, from router's installation, as the Lambda runtime provides them
    ("Runtime dependencies in Python": the SDK for Python is included) when the project did
    not install them itself. Only to the same Python version as router's (urllib3 2, for one,
    needs 3.10): another one is told to install the SDK itself."""

    def __init__(self, directory, names, version):
        self.directory = directory
        self.names = frozenset(names)
        self.version = tuple(version)

    def find_spec(self, name, path=None, target=None):
        if path is not None or name not in self.names:
            return None
        if sys.version_info[:2] != self.version:
            here = ".".join(map(str, sys.version_info[:2]))
            theirs = ".".join(map(str, self.version))
            raise ModuleNotFoundError(
                f"No module named {name!r}: the Lambda runtime provides boto3 and botocore, but router's copy "
                f"(Python {theirs}) does not fit settings.python (Python {here}); install boto3 into the "
                "project's environment",
                name=name,
            )
        return importlib.machinery.PathFinder.find_spec(name, [self.directory])


def layer_paths(layers):
    """The layers' folders on sys.path, as Lambda's /opt ones: python/lib/python3.X/site-packages,
    then python ("Layer paths for each Lambda runtime"; the Python runtimes' sys.path is /var/task,
    /opt/python/lib/python3.X/site-packages, /opt/python, then the runtime's own). Lambda extracts
    the layers into one /opt in order, a later one's files over an earlier one's: a later layer's
    folder comes first here."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site = [os.path.join(layer, "python", "lib", version, "site-packages") for layer in reversed(layers)]
    return site + [os.path.join(layer, "python") for layer in reversed(layers)]


def set_import_path(task_root, imports, here, layers=()):
    """sys.path as Lambda's: the code root first, then the layers (then the project's packages);
    router's child folder (``here``) out of it; the two finders above as the interpreter calls for."""
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here]
    sys.path[0:0] = [task_root, *layer_paths(layers)]
    if not imports:
        return
    if os.path.realpath(sys.prefix) == os.path.realpath(imports["prefix"]):
        sys.meta_path.insert(0, ImportGuard(task_root, imports["router_only"], layer_paths(layers)))
    elif imports.get("sdk_dir"):
        sys.meta_path.append(ProvidedSdk(imports["sdk_dir"], imports["sdk"], imports["version"]))


