'use strict';
// The addon built by `node-gyp rebuild` at install time (see fastwalk.c). Loading fails where it was not
// built (no compiler, Windows): the caller then walks in JavaScript.
module.exports = require('./build/Release/fastwalk.node');
