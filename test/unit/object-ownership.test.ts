/**
 * Which objects under a child's name a session may adopt, replace or delete, and what the user is
 * told when it may not: only an object controlled by this AgentSession's uid is the session's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import {
  conflictMessage,
  isHeldByAnotherOfTheName,
  isOwnedBy,
  pendingRemovalMessage,
  type SessionOwner,
} from '../../src/runtime/kubernetes/object-ownership.js';

const owner: SessionOwner = { namespace: 'team-a', name: 's1', uid: 'uid-new' };

const controlledBy = (kind: string, name: string, uid: string, apiVersion = 'shepherd.dev/v1alpha1') => ({
  name: 'x',
  ownerReferences: [{ apiVersion, kind, name, uid, controller: true }],
});

describe('isOwnedBy', () => {
  it('accepts only a controller ownerReference to this AgentSession uid', () => {
    assert.equal(isOwnedBy(controlledBy('AgentSession', 's1', 'uid-new'), owner), true);
  });

  it('refuses an object with no owner, another uid, another kind, another group or no controller flag', () => {
    const refused: Array<[string, V1ObjectMeta]> = [
      ['no owner', { name: 'x' }],
      ['an earlier AgentSession of the same name', controlledBy('AgentSession', 's1', 'uid-old')],
      ['another AgentSession', controlledBy('AgentSession', 's2', 'uid-new')],
      ['another kind', controlledBy('ConfigMap', 's1', 'uid-new', 'v1')],
      ['another group', controlledBy('AgentSession', 's1', 'uid-new', 'example.com/v1')],
      [
        'an owner that is not the controller',
        {
          ownerReferences: [
            { apiVersion: 'shepherd.dev/v1alpha1', kind: 'AgentSession', name: 's1', uid: 'uid-new' },
          ],
        },
      ],
    ];
    for (const [story, metadata] of refused) assert.equal(isOwnedBy(metadata, owner), false, story);
  });

  it('without a uid (a run recorded before the uid was kept) any AgentSession of the name counts', () => {
    const legacy = { namespace: 'team-a', name: 's1' };
    assert.equal(isOwnedBy(controlledBy('AgentSession', 's1', 'uid-old'), legacy), true);
    assert.equal(isOwnedBy({ name: 'x' }, legacy), false);
    assert.equal(isOwnedBy(controlledBy('ConfigMap', 's1', 'uid-old', 'v1'), legacy), false);
  });
});

describe('conflictMessage', () => {
  it('names the kind, the name, the owner and the fix', () => {
    const message = conflictMessage('ServiceAccount', 's1-runner', { name: 's1-runner' }, owner);
    assert.match(message, /^ServiceAccount s1-runner already exists in namespace team-a with no owner;/);
    assert.match(message, /kubectl delete serviceaccount s1-runner -n team-a/);
    assert.match(message, /give the session another name/);
  });

  it('tells an earlier AgentSession of the same name from any other owner', () => {
    assert.match(
      conflictMessage('Job', 's1-a1', controlledBy('AgentSession', 's1', 'uid-old'), owner),
      /with an earlier AgentSession s1 \(uid uid-old\), not this one \(uid uid-new\)/,
    );
    assert.match(
      conflictMessage('Secret', 's1-session', controlledBy('Deployment', 'web', 'uid-d', 'apps/v1'), owner),
      /with owner Deployment web \(uid uid-d\)/,
    );
    assert.match(
      conflictMessage(
        'Role',
        's1-runner',
        { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'u' }] },
        owner,
      ),
      /with no controller \(owners: ConfigMap cm\)/,
    );
  });
});

describe('isHeldByAnotherOfTheName', () => {
  it('is true only for an AgentSession controller of the same name and another uid', () => {
    assert.equal(isHeldByAnotherOfTheName(controlledBy('AgentSession', 's1', 'uid-old'), owner), true);
    assert.equal(isHeldByAnotherOfTheName(controlledBy('AgentSession', 's1', 'uid-new'), owner), false);
    assert.equal(isHeldByAnotherOfTheName(controlledBy('AgentSession', 's2', 'uid-old'), owner), false);
    assert.equal(isHeldByAnotherOfTheName(controlledBy('ConfigMap', 's1', 'uid-old', 'v1'), owner), false);
    assert.equal(isHeldByAnotherOfTheName({ name: 'x' }, owner), false);
  });

  it('is false for a run recorded without a uid, which any AgentSession of the name owns', () => {
    const legacy: SessionOwner = { namespace: 'team-a', name: 's1' };
    assert.equal(isHeldByAnotherOfTheName(controlledBy('AgentSession', 's1', 'uid-old'), legacy), false);
  });
});

describe('pendingRemovalMessage', () => {
  it('names the object, both uids, whether it is being deleted, and how to see what holds it', () => {
    const waiting = pendingRemovalMessage(
      'PersistentVolumeClaim',
      's1-workspace',
      controlledBy('AgentSession', 's1', 'uid-old'),
      owner,
    );
    assert.equal(
      waiting,
      'PersistentVolumeClaim s1-workspace in namespace team-a still belongs to a deleted AgentSession s1 ' +
        '(uid uid-old) and waits for the garbage collector; AgentSession s1 (uid uid-new) waits for it to go. ' +
        'If it stays, something holds it (a finalizer, or its old pod): ' +
        'kubectl describe persistentvolumeclaim s1-workspace -n team-a',
    );
    const deleting = pendingRemovalMessage(
      'Secret',
      's1-secrets',
      { ...controlledBy('AgentSession', 's1', 'uid-old'), deletionTimestamp: new Date() },
      owner,
    );
    assert.match(deleting, /and is being deleted;/);
  });
});
