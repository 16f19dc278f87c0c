'use strict';
// `require('binlog-salvage')`: see require-esm.cjs.
module.exports = require('./require-esm.cjs')(() => require('../dist/index.js'), 'binlog-salvage', 'import { plan, apply }');
