// A side effect only: imported first by the package entry (see compile-cache.ts).
import { enableProjectCompileCache } from './compile-cache';

enableProjectCompileCache();
