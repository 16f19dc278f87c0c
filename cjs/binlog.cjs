'use strict';
// `require('binlog-salvage/binlog')`: see require-esm.cjs.
module.exports = require('./require-esm.cjs')(() => require('../dist/binlog/index.js'), 'binlog-salvage/binlog', 'import { BinlogDecoder }');
