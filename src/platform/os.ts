import { userInfo } from 'node:os';

export const os = {
  username(): string | null {
    try {
      return userInfo().username;
    } catch {
      return null;
    }
  },
};
