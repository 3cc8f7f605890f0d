// The built-in bash Runtime Server (image kruntimes-bash-runtime).

import { serveRuntime } from '../kit/index.ts';
import { bashRuntime } from './command.ts';

await serveRuntime(bashRuntime());
