// Python run by `python3 -u -c` when a Run names a handler: imports the handler's module (or loads
// the entrypoint file as a module, so its `if __name__ == "__main__"` block does not run), calls
// the function with the Run's args as positional strings and prints a non-None result
// (str as is, anything else as JSON). An exception prints its traceback and exits 1.
// argv: [entrypoint path or '', handler, ...args]

export const HANDLER_BOOTSTRAP = `
import importlib, importlib.util, json, os, sys
entrypoint, handler, args = sys.argv[1], sys.argv[2], sys.argv[3:]
module_name, _, function_name = handler.rpartition(':')
sys.path.insert(0, os.getcwd())
if entrypoint:
    sys.path.insert(0, os.path.dirname(entrypoint))
if module_name:
    module = importlib.import_module(module_name)
else:
    spec = importlib.util.spec_from_file_location('krt_entrypoint', entrypoint)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
function = getattr(module, function_name, None)
if not callable(function):
    sys.exit(f'kruntimes: handler {handler!r}: {module.__name__} has no function {function_name!r}')
sys.argv = [entrypoint or handler, *args]
result = function(*args)
if result is not None:
    print(result if isinstance(result, str) else json.dumps(result, default=str))
`;
