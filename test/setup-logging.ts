import { installQuietLogging } from '../src/worker';

installQuietLogging();
