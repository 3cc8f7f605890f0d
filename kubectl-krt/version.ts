// The plugin's own version: the package's, so a release tags both the same.
import pkg from '../package.json' with { type: 'json' };

export const CLIENT_VERSION: string = pkg.version;
