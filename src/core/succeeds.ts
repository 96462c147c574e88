/** Whether `work` fulfils (true) or rejects (false): a question asked by trying, such as "is there a file here". */
export const succeeds = (work: Promise<unknown>): Promise<boolean> => work.then(() => true, () => false);
