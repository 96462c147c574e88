/** Every key of the local KMS's account: what a user who chose one of its keys is allowed. */
export const LOCAL_ACCOUNT_KEYS = 'arn:aws:kms:*:000000000000:key/*';
/** Another account's key space: keys made there play a stranger's (or an attacker's) keys. */
export const OTHER_ACCOUNT = '999999999999';
