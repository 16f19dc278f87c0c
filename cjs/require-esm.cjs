'use strict';
/**
 * binlog-salvage is ES modules only; this is what `require()` of it meets (package.json `exports`,
 * condition `require`). Node 20.19+ and 22.12+ load an ES module through require() when its graph
 * has no top-level await, as this package's has none: the caller then gets the very module
 * `import` gives (one instance, not a CommonJS copy). An older Node throws ERR_REQUIRE_ESM naming a
 * file inside the package; this says what to write instead. Without this entry every Node threw
 * ERR_PACKAGE_PATH_NOT_EXPORTED, which does not say the package is an ES module.
 */
module.exports = function requireEsm(load, name, example) {
  try {
    return load();
  } catch (e) {
    const code = e !== null && typeof e === 'object' ? e.code : undefined;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    const error = new Error(
      `${name} is an ES module: use import (${example} from '${name}') or await import('${name}'); require() of an ES module is not available in this Node (${process.version}; Node 20.19+ and 22.12+ have it, unless run with --no-experimental-require-module)`,
      { cause: e },
    );
    error.code = 'ERR_REQUIRE_ESM';
    throw error;
  }
};
