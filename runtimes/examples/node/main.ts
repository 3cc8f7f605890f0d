// The example node Runtime Server: listens on $KRUNTIME_PORT (default 19091).

import { serveRuntime } from '../../kit/index.ts';
import { nodeRuntime } from './command.ts';

await serveRuntime(nodeRuntime());
