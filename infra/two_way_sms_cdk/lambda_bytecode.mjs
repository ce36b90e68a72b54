// Compiles every .py under the given folders to byte-code for Pyodide's CPython (the Lambda
// runtime's version), beside each file in __pycache__/<name>.<cache tag>.pyc, checked-hash.
// Usage: node lambda_bytecode.mjs <pyodide.mjs> <folder>...  Prints one JSON line:
// {"cache_tag": "cpython-314", "compiled": n, "errors": [[folder index, file, message], ...]}.
// Driven by lambda_bytecode.py, which explains why.
import { pathToFileURL } from "node:url";

const [pyodideModule, ...folders] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(pyodideModule).href);
const pyodide = await loadPyodide({ stdout: () => {}, stderr: () => {} });

folders.forEach((folder, index) => {
  const mountPoint = `/compile/${index}`;
  pyodide.FS.mkdirTree(mountPoint);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: folder }, mountPoint);
});
pyodide.globals.set("folder_count", folders.length);

const report = pyodide.runPython(`
import json, os, py_compile, sys

compiled, errors = 0, []
for index in range(folder_count):
    root = f"/compile/{index}"
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            source = os.path.join(directory, name)
            try:
                py_compile.compile(
                    source, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH
                )
                compiled += 1
            except py_compile.PyCompileError as error:
                errors.append([index, os.path.relpath(source, root), f"{error.exc_type_name}: {error.exc_value}"])
json.dumps({
    "cache_tag": sys.implementation.cache_tag,
    "compiled": compiled,
    "errors": errors,
})
`);
console.log(report);
