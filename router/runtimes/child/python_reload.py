"""Which files of the user's code this worker has loaded, for router's hot reload.

Loaded by ``python_worker.py`` under a private name; imports nothing from router. The files of
the modules in ``sys.modules`` that are the user's: under the code root, or anywhere outside
the standard library and site-packages (a sibling package on ``sys.path``, a layer). They are
reported once each, after init and after an invocation that imported more; the check costs
one ``len(sys.modules)`` when nothing new was imported.
"""

import os
import sys
import sysconfig


class LoadedFiles:
    def __init__(self, task_root, own_dir):
        self.root = os.path.join(os.path.realpath(task_root), "")
        paths = sysconfig.get_paths()
        self.skip = tuple(os.path.join(os.path.realpath(p), "") for p in
                          {paths.get("stdlib"), paths.get("platstdlib"), own_dir} if p)
        self.count = -1
        self.seen = set()

    def new(self):
        """Files loaded since the last call (a list, maybe empty)."""
        modules = sys.modules
        if len(modules) == self.count:
            return []
        self.count = len(modules)
        out = []
        for module in list(modules.values()):
            path = getattr(module, "__file__", None)
            if not isinstance(path, str) or path in self.seen:
                continue
            self.seen.add(path)
            real = os.path.realpath(path)
            if self._users(real):
                out.append(real)
        return out

    def _users(self, real):
        if real.startswith(self.root):
            return True
        if real.startswith(self.skip):
            return False
        parts = real.split(os.sep)
        return "site-packages" not in parts and "dist-packages" not in parts
