/**
 * Every command the extension contributes (package.json `contributes.commands`), registered at
 * activation; their handlers are in the commands bundle (engine.ts). test/unit/manifest.test.ts
 * keeps this list and the manifest the same.
 */
export const COMMAND_IDS = [
  'kmsEnvelope.encryptSelection',
  'kmsEnvelope.decryptSelection',
  'kmsEnvelope.editEncryptedValue',
  'kmsEnvelope.encryptFile',
  'kmsEnvelope.decryptFile',
  'kmsEnvelope.openDecrypted',
  'kmsEnvelope.openEncrypted',
  'kmsEnvelope.selectProfile',
  'kmsEnvelope.selectKey',
  'kmsEnvelope.lock',
  'kmsEnvelope.rotateDataKey',
  'kmsEnvelope.addKeyToFile',
  'kmsEnvelope.removeKeyFromFile',
  'kmsEnvelope.statusMenu',
  'kmsEnvelope.showLog',
  'kmsEnvelope.setUpGit',
  'kmsEnvelope.openChangesDecrypted',
  'kmsEnvelope.newTerminal',
] as const;
