// The platform version, reported by the operator and compared by kubectl krt for skew warnings.
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
