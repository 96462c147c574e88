#!/usr/bin/env node
import { main } from './main';

// The SDK's notice that its 2027 releases drop Node 20 would otherwise end every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
