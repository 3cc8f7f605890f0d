// The built-in python Runtime Server (image kruntimes-python-runtime).

import { serveRuntime } from '../kit/index.ts';
import { pythonRuntime } from './command.ts';

await serveRuntime(pythonRuntime());
